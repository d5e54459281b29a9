"""A back-to-back PBX in the SIP lab, as a club has one: each call is two
SIP dialogs or more (customer and PBX, PBX and desk, PBX and a colleague
after a transfer), each with its own Call-ID, tags and CSeq.

customer phone -> Kamailio -> PBX (Sippy's B2BUA, lab/b2bua_pbx.py) ->
Kamailio -> desk phone 201 (or colleague 202). Kamailio carries both legs,
so its siptrace mirrors every SIP message of every leg, as HEPv3, to the
collector (`callsop telephony --listen`). The phones are baresip."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.telephony.baresip_phone import Baresip
from tests.telephony.sip_lab import free_ports

LAB = Path(__file__).resolve().parent / "lab"
ROOT = LAB.parent.parent.parent
CLUB_LINE = "0227001234"  # the number customers dial; the PBX rings desk 201 for it
CUSTOMER = "0912345678"
DESK, COLLEAGUE = "201", "202"
QUIET_S = 0.5  # no event for this long after a call's end: the collector has said all
_ENDS = frozenset({"hangup", "cancelled", "failed"})


def _port_taken(port: int) -> bool:
    """Whether something holds UDP 127.0.0.1:`port`, read from the kernel's
    table rather than by binding it, which would race the process starting."""
    wanted = f"0100007F:{port:04X}"
    rows = Path("/proc/net/udp").read_text("ascii").splitlines()[1:]
    return any(row.split()[1] == wanted for row in rows)  # the local address column


def _until_bound(process: subprocess.Popen[Any], port: int, name: str, log: Path) -> None:
    """Waits until `process` holds UDP `port` (it is up), or says why not."""
    deadline = time.monotonic() + 10
    while not _port_taken(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            tail = log.read_text("utf-8", errors="replace")[-2000:]
            raise AssertionError(f"{name} did not start:\n{tail}")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Phones:
    customer: Baresip
    desk: Baresip
    colleague: Baresip


@dataclass
class B2buaLab:
    folder: Path
    proxy_port: int
    phone_ports: dict[str, int]  # SIP port of each extension and of the customer
    processes: list[subprocess.Popen[Any]]
    collector: subprocess.Popen[str]
    events: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)

    def uri(self, user: str) -> str:
        """A number dialled through the club's network (Kamailio)."""
        return f"sip:{user}@127.0.0.1:{self.proxy_port}"

    @contextlib.contextmanager
    def phones(self, folder: Path) -> Iterator[Phones]:
        """Fresh baresip phones for the customer, desk 201 and colleague 202."""
        while not self.events.empty():
            self.events.get()  # what an earlier call left unread is not this call's
        started: list[Baresip] = []
        try:
            for name, ctrl in zip((CUSTOMER, DESK, COLLEAGUE), self._control_ports(), strict=True):
                started.append(
                    Baresip(folder, name=name, sip_port=self.phone_ports[name], ctrl_port=ctrl)
                )
            yield Phones(*started)
        finally:
            for phone in started:
                phone.stop()

    def _control_ports(self) -> list[int]:
        """Three TCP ports for the phones' ctrl_tcp, none a phone's SIP port
        nor the one after it (baresip listens on both)."""
        sip = {p + i for p in self.phone_ports.values() for i in (0, 1)}
        while True:
            ports = free_ports(3)
            if not sip & set(ports):
                return ports

    def call_events(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """What the collector printed for the call just made: everything up
        to its last end, once it has been quiet for QUIET_S."""
        printed: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            ended = any(e["kind"] in _ENDS for e in printed)
            wait = QUIET_S if ended else deadline - time.monotonic()
            if wait <= 0:
                raise AssertionError(f"no end of call printed within {timeout} s: {printed}")
            try:
                printed.append(self.events.get(timeout=wait))
            except queue.Empty:
                if ended:
                    return printed
            assert self.collector.poll() is None, "the collector stopped"

    def _read_collector(self) -> None:
        assert self.collector.stdout is not None
        for line in self.collector.stdout:
            self.events.put(json.loads(line))


def _kamailio(folder: Path, ports: dict[str, int]) -> subprocess.Popen[Any]:
    assert shutil.which("kamailio"), "kamailio is not installed: make test installs it from Debian"
    modules = sorted(Path("/usr/lib").glob("*/kamailio/modules/siptrace.so"))
    assert modules, "Kamailio's siptrace module is missing: Debian's kamailio-utils-modules"
    template = (LAB / "b2bua-kamailio.cfg.in").read_text("utf-8")
    config = folder / "kamailio.cfg"
    config.write_text(template.format(modules=f"{modules[0].parent}/", **ports), "utf-8")
    log = folder / "kamailio.log"
    with log.open("wb") as out:
        kamailio = subprocess.Popen(
            ["kamailio", "-f", str(config), "-DD", "-E", "-w", str(folder)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _until_bound(kamailio, ports["proxy_port"], "Kamailio", log)
    return kamailio


def _pbx(folder: Path, pbx_port: int, proxy_port: int) -> subprocess.Popen[Any]:
    """Sippy's B2BUA: no RADIUS (-u -A 0), a fresh Call-ID for each leg
    (-H, as a PBX has), the club's line dialled as desk 201 (-T), every new
    leg placed through Kamailio (-s)."""
    assert importlib.util.find_spec("sippy"), (
        "sippy is not installed: pip install sippy==2.5.0 (the project's dev extra)"
    )
    command = [
        sys.executable, str(LAB / "b2bua_pbx.py"), "-f", "-u", "-A", "0", "-H",
        "-l", "127.0.0.1", "-p", str(pbx_port), "-s", f"127.0.0.1:{proxy_port}",
        "-T", f"s/^{CLUB_LINE}$/{DESK}/", "-c", str(folder / "pbx.sock"),
    ]  # fmt: skip
    log = folder / "pbx.log"
    with log.open("wb") as out:
        pbx = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    _until_bound(pbx, pbx_port, "the B2BUA", log)
    return pbx


def _collector(hep_port: int) -> subprocess.Popen[str]:
    collector = subprocess.Popen(
        [sys.executable, "-m", "callsop", "telephony", "--listen", f"127.0.0.1:{hep_port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert collector.stderr is not None
    assert "listening" in collector.stderr.readline(), "the collector did not start"
    return collector


def start(folder: Path) -> B2buaLab:
    """The collector, Kamailio and the PBX, each up before the next."""
    proxy, pbx, hep, customer, desk, colleague = free_ports(6)
    ports = {
        "proxy_port": proxy,
        "pbx_port": pbx,
        "hep_port": hep,
        "desk_port": desk,
        "colleague_port": colleague,
    }
    collector = _collector(hep)
    processes: list[subprocess.Popen[Any]] = []
    try:
        processes.append(_kamailio(folder, ports))
        processes.append(_pbx(folder, pbx, proxy))
    except BaseException:
        for process in [*processes, collector]:
            _stop(process)
        raise
    phone_ports = {CUSTOMER: customer, DESK: desk, COLLEAGUE: colleague}
    lab = B2buaLab(folder, proxy, phone_ports, processes, collector)
    threading.Thread(target=lab._read_collector, daemon=True).start()
    return lab


def stop(lab: B2buaLab) -> None:
    for process in [*reversed(lab.processes), lab.collector]:
        _stop(process)
