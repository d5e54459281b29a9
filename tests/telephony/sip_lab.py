"""A SIP lab on loopback: Kamailio as the club's PBX mirroring HEP to the
collector, and SIPp phones for the customer and the desk."""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LAB = Path(__file__).resolve().parent / "lab"
ROOT = LAB.parent.parent.parent


def sdp(owner: str, version: str, direction: str) -> str:
    """An audio offer or answer; `direction` sendonly or inactive holds."""
    return f"""v=0
o={owner} 1 {version} IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a={direction}"""


def answer_with_sdp(
    user: str, owner: str, version: str, direction: str, *, to_tag: str = "", route: bool = False
) -> str:
    """A phone's 200 OK carrying its SDP: the desk answering the call
    (adding its tag and the proxy's Record-Route), or a party taking a
    re-INVITE."""
    record_route = "[last_Record-Route:]\n" if route else ""
    return f"""
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]{to_tag}
[last_Call-ID:]
[last_CSeq:]
{record_route}Contact: <sip:{user}@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

{sdp(owner, version, direction)}
]]></send>"""


def reply(status: str) -> str:
    """A phone's plain answer to the request it just took (200 OK, 202 Accepted)."""
    return f"""
  <send><![CDATA[
SIP/2.0 {status}
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
]]></send>"""


def desk_request(
    method: str, cseq: int, headers: str = "", sdp_body: str = "", *, retrans: bool = True
) -> str:
    """A request the desk sends inside the call: re-INVITE, ACK, BYE, REFER."""
    send = '<send retrans="500">' if retrans else "<send>"
    body = (
        f"Content-Type: application/sdp\nContent-Length: [len]\n\n{sdp_body}"
        if sdp_body
        else "Content-Length: 0"
    )
    return f"""
  {send}<![CDATA[
{method} [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:201@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: <sip:0912345678@127.0.0.1>;[$caller_tag]
Call-ID: [call_id]
CSeq: {cseq} {method}
{headers}Max-Forwards: 70
{body}
]]></send>"""


ACK_AND_ROUTES = """
  <recv response="200" rrs="true" />
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:0912345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:0912345678@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0
]]></send>"""

CUSTOMER_HANGS_UP = (
    ACK_AND_ROUTES
    + """
  <pause milliseconds="{talk_ms}" />
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:0912345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200" />"""
)

# Either phone, when the other side hangs up.
TAKES_BYE = """
  <recv request="BYE" />""" + reply("200 OK")

CUSTOMER_WAITS_FOR_BYE = ACK_AND_ROUTES + TAKES_BYE

CUSTOMER_GIVES_UP = """
  <pause milliseconds="{give_up_ms}" />
  <send><![CDATA[
CANCEL sip:201@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-4]
From: <sip:0912345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:201@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 CANCEL
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200" />
  <recv response="487" />
  <send><![CDATA[
ACK sip:201@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-7]
From: <sip:0912345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
]]></send>"""

DESK_ANSWERS = (
    """<pause milliseconds="{ring_ms}" />"""
    + answer_with_sdp(
        "201", "desk", "1", "sendrecv", to_tag=";tag=[pid]SIPpTag01[call_number]", route=True
    )
    + """
  <recv request="ACK" />"""
)

DESK_WAITS_FOR_BYE = DESK_ANSWERS + TAKES_BYE

DESK_HANGS_UP = (
    DESK_ANSWERS
    + """
  <pause milliseconds="{talk_ms}" />"""
    + desk_request("BYE", 1)
    + """
  <recv response="200" />"""
)

DESK_IS_CANCELLED = (
    """<recv request="CANCEL" />
"""
    + reply("200 OK")
    + """
  <send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: 1 INVITE
Content-Length: 0
]]></send>
  <recv request="ACK" />"""
)


def _sipp(scenario: Path, port: int, timeout: float, *target: str) -> list[str]:
    """A SIPp phone on `port` (media two above) playing `scenario` once."""
    return [
        "sipp", "-sf", str(scenario), *target, "-p", str(port), "-mp", str(port + 2),
        "-i", "127.0.0.1", "-m", "1", "-nostdin", "-timeout", f"{timeout:g}s", "-timeout_error",
    ]  # fmt: skip


# Ports for the lab's phones and proxies come from below the kernel's
# ephemeral range (32768-60999 on Linux), where no outgoing TCP connection of
# the test run (the browser, the database, a phone's control socket) can take
# one between the choice and the bind; each is free for UDP and TCP, and so is
# the one two above it (SIPp's media port). None is handed out twice in a run.
_LAB_PORTS = range(20000, 32000, 4)
_handed_out: set[int] = set()


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_ports(count: int) -> list[int]:
    ports: list[int] = []
    for port in random.sample(_LAB_PORTS, len(_LAB_PORTS)):
        if port in _handed_out or not (_bindable(port) and _bindable(port + 2)):
            continue
        _handed_out.add(port)
        ports.append(port)
        if len(ports) == count:
            return ports
    raise AssertionError("no free ports left for the SIP lab")


@dataclass
class Lab:
    folder: Path
    proxy_port: int
    desk_port: int
    customer_port: int
    kamailio: subprocess.Popen[str]
    collector: subprocess.Popen[str]

    def call(
        self, customer: str, desk: str, timeout: float = 30.0, **timing: int
    ) -> list[dict[str, Any]]:
        """One call between the two phones; the collector's events for it."""
        desk_run = self.phone(desk, timeout, **timing)
        customer_xml = self._scenario("customer", customer.format(**timing))
        command = _sipp(customer_xml, self.customer_port, timeout, f"127.0.0.1:{self.proxy_port}")
        customer_run = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=self.folder,
            timeout=timeout + 10,
            check=False,
        )
        desk_run.wait(timeout=timeout + 10)
        assert customer_run.returncode == 0, (
            customer_run.stdout[-2000:] + customer_run.stderr[-2000:]
        )
        assert desk_run.returncode == 0, "the desk phone's scenario failed"
        return self.events_until_end()

    def phone(self, scenario: str, timeout: float = 30.0, **timing: int) -> subprocess.Popen[str]:
        """A SIPp phone behind the PBX (where it sends every new call) that
        plays `scenario` once: the desk, or whoever our own dialer calls."""
        path = self._scenario("desk", scenario.format(**timing))
        phone = subprocess.Popen(
            _sipp(path, self.desk_port, timeout),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.folder,
        )
        time.sleep(0.3)  # up before the call comes
        return phone

    def _scenario(self, name: str, ending: str) -> Path:
        text = (LAB / f"{name}.xml.in").read_text("utf-8")
        path = self.folder / f"{name}.xml"
        placeholder = "{after_ringing}" if name == "desk" else "{ending}"
        path.write_text(text.replace(placeholder, ending), "utf-8")
        return path

    def events_until_end(self) -> list[dict[str, Any]]:
        assert self.collector.stdout is not None
        events: list[dict[str, Any]] = []
        while not events or events[-1]["kind"] not in ("hangup", "cancelled", "failed"):
            line = self.collector.stdout.readline()
            assert line, "the collector stopped"
            events.append(json.loads(line))
        return events


def start(folder: Path, *, pbx: str = "kamailio.cfg.in") -> Lab:
    """The lab in `folder`; `pbx` names its Kamailio configuration in lab/
    (club.cfg.in routes by number, as a club's PBX does)."""
    for tool in ("kamailio", "sipp"):
        assert shutil.which(tool), f"{tool} is not installed: make test installs it from Debian"
    proxy, desk, customer, hep_port = free_ports(4)
    modules = sorted(Path("/usr/lib").glob("*/kamailio/modules/siptrace.so"))
    assert modules, "Kamailio's siptrace module is missing: Debian's kamailio-utils-modules"
    template = (LAB / pbx).read_text("utf-8")
    config = template.format(
        proxy_port=proxy, desk_port=desk, hep_port=hep_port, modules=f"{modules[0].parent}/"
    )
    (folder / "kamailio.cfg").write_text(config, "utf-8")
    collector = subprocess.Popen(
        [sys.executable, "-m", "callsop", "telephony", "--listen", f"127.0.0.1:{hep_port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert collector.stderr is not None
    assert "listening" in collector.stderr.readline()
    kamailio = subprocess.Popen(
        ["kamailio", "-f", str(folder / "kamailio.cfg"), "-DD", "-E", "-w", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind(("127.0.0.1", proxy))
        except OSError:
            break  # Kamailio holds the port: it is up
        finally:
            probe.close()
        time.sleep(0.1)
    else:
        kamailio.kill()
        raise AssertionError("Kamailio did not start")
    return Lab(folder, proxy, desk, customer, kamailio, collector)


def stop(lab: Lab) -> None:
    for process in (lab.kamailio, lab.collector):
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _desk_reinvite(cseq: int, direction: str) -> str:
    """The desk re-INVITEs the customer: sendonly holds, sendrecv resumes."""
    contact = "Contact: <sip:201@[local_ip]:[local_port]>\n"
    return (
        desk_request("INVITE", cseq, contact, sdp("desk", str(cseq), direction))
        + """
  <recv response="100" optional="true" />
  <recv response="200" />"""
        + desk_request("ACK", cseq, retrans=False)
    )


def _desk_bye(reason: str = "") -> str:
    return (
        desk_request("BYE", 4, reason)
        + """
  <recv response="200" />"""
    )


# The desk answers, holds after {before_hold_ms}, resumes after {hold_ms},
# talks {talk_ms} more and hangs up.
DESK_HOLDS = (
    DESK_ANSWERS
    + """
  <pause milliseconds="{before_hold_ms}" />"""
    + _desk_reinvite(2, "sendonly")
    + """
  <pause milliseconds="{hold_ms}" />"""
    + _desk_reinvite(3, "sendrecv")
    + """
  <pause milliseconds="{talk_ms}" />"""
    + _desk_bye()
)

# The line drops: the desk's side ends the call with an abnormal Q.850 cause.
DESK_LINE_DROPS = (
    DESK_ANSWERS
    + """
  <pause milliseconds="{talk_ms}" />"""
    + _desk_bye('Reason: Q.850;cause=41;text="Temporary failure"\n')
)

_CUSTOMER_TAKES_REINVITE = (
    """
  <recv request="INVITE" />"""
    + answer_with_sdp("0912345678", "customer", "2", "recvonly")
    + """
  <recv request="ACK" />"""
)

# The customer is held and resumed, then waits for the desk to hang up.
CUSTOMER_IS_HELD = ACK_AND_ROUTES + _CUSTOMER_TAKES_REINVITE + _CUSTOMER_TAKES_REINVITE + TAKES_BYE

# The desk transfers the customer (a blind transfer, REFER) to extension 205,
# then hangs up.
DESK_TRANSFERS = (
    DESK_ANSWERS
    + """
  <pause milliseconds="{talk_ms}" />"""
    + desk_request(
        "REFER", 2, "Contact: <sip:201@[local_ip]:[local_port]>\nRefer-To: <sip:205@club.example>\n"
    )
    + """
  <recv response="202" />"""
    + _desk_bye()
)

CUSTOMER_IS_TRANSFERRED = (
    ACK_AND_ROUTES
    + """
  <recv request="REFER" />
"""
    + reply("202 Accepted")
    + TAKES_BYE
)
