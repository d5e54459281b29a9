"""`make demo-sip`: the demo desk with a small phone system beside it.

Kamailio plays the club's PBX on 127.0.0.1 and mirrors its SIP traffic as
HEP to `callsop telephony --desk`, which puts each call on the demo desk.
Three baresip phones are prepared: a customer's, and the desk phones of
怡君 (extension 101, who answers the club's line 02-2700-1234) and 志豪
(extension 102). A person drives them from terminals; `--call` plays one
call by itself instead, with the clerk and the caller talking, and leaves
the desk phone's recording of it in the PBX's recording folder, which the
desk watches (`callsop telephony --recordings`) and a `callsop worker` hears.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import wave
from pathlib import Path

CLUB_LINE = "0227001234"
DATA = Path(os.environ.get("CALLSOP_DATA_DIR", "var")).resolve()
LAB = DATA / "sip-lab"
RECORDINGS = LAB / "recordings"  # the PBX's recording folder the desk watches
PROXY_PORT, HEP_PORT, WEB_PORT = 5070, 9070, 8000
# name: (SIP port, control port); baresip also takes the SIP port + 1 (TLS).
PHONES = {
    "customer": (5080, 4441),
    "101": (5090, 4442),
    "102": (5100, 4443),
}
KAMAILIO = """#!KAMAILIO
# The demo club's PBX: the club's line and extension 101 ring 怡君's desk
# phone, 102 rings 志豪's; every message is mirrored to the desk as HEPv3.
debug=1
log_stderror=yes
children=1
disable_tcp=yes
listen=udp:127.0.0.1:{proxy}
mpath="{modules}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "siptrace.so"
modparam("siptrace", "duplicate_uri", "sip:127.0.0.1:{hep}")
modparam("siptrace", "hep_mode_on", 1)
modparam("siptrace", "hep_version", 3)
modparam("siptrace", "trace_to_database", 0)
modparam("siptrace", "trace_mode", 1)
modparam("siptrace", "trace_on", 1)
request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{ loose_route(); t_relay(); exit; }}
    if (is_method("REGISTER")) {{ sl_send_reply("200", "OK"); exit; }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) t_relay(); exit; }}
    record_route();
    if ($rU == "102") {{ $ru = "sip:102@127.0.0.1:{phone_102}"; }}
    else if ($rU == "101" || $rU == "{line}") {{ $ru = "sip:101@127.0.0.1:{phone_101}"; }}
    else {{ $ru = "sip:0912345678@127.0.0.1:{customer}"; }}
    t_relay();
}}
"""


def _phone_config(name: str, sip_port: int, ctrl_port: int, says: bytes | None) -> Path:
    """A baresip phone's folder. `says`: 8 kHz 16-bit mono audio the phone
    plays into its calls (else silence); the desk phone 101 also records
    each call's two legs (`sndfile`) for the recording folder."""
    folder = LAB / f"phone-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "says.wav"
    with wave.open(str(source), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(says if says is not None else b"\0" * 16000 * 60)
    recorder = ""
    if name == "101":
        (folder / "recorded").mkdir(exist_ok=True)
        recorder = f"module sndfile.so\nsnd_path {folder / 'recorded'}\n"
    (folder / "config").write_text(
        f"""poll_method epoll
sip_listen 127.0.0.1:{sip_port}
audio_source aufile,{source}
module_path /usr/lib/baresip/modules
module stdio.so
module g711.so
module aufile.so
{recorder}module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{ctrl_port}
""",
        "utf-8",
    )
    user = "0912345678" if name == "customer" else name
    (folder / "accounts").write_text(
        f"<sip:{user}@127.0.0.1:{sip_port};transport=udp>;regint=0;"
        f"outbound=sip:127.0.0.1:{PROXY_PORT};answermode=manual;audio_codecs=PCMU\n",
        "utf-8",
    )
    return folder


def _conversation() -> dict[str, bytes]:
    """What the clerk and the caller say: the two channels of the demo's
    recorded enquiry (a hold with music on the clerk's side included), as
    each phone's microphone. Silence when the examples are not at hand."""
    from callsop.desk.demo_recording import demo_file

    path = demo_file()
    if path is None:
        return {}
    import numpy as np
    import soundfile as sf

    audio, rate = sf.read(path, dtype="int16", always_2d=True)
    if rate != 8000 or audio.shape[1] != 2:
        return {}
    pad = np.zeros(8000 * 30, dtype=np.int16)  # the source must outlast the call
    return {
        "101": np.concatenate([audio[:, 0], pad]).tobytes(),
        "customer": np.concatenate([audio[:, 1], pad]).tobytes(),
    }


def _prepare_desk() -> None:
    from callsop.desk import server

    server.setup(demo=True)
    server.migrate()
    server.load_demo_once()
    from callsop.desk.models import Club, ClubLine, Staff

    xinyi = Club.objects.get(code="xinyi")
    ClubLine.objects.get_or_create(number=CLUB_LINE.lstrip("0"), defaults={"club": xinyi})
    Staff.objects.filter(user__username="yijun").update(extension="101")
    Staff.objects.filter(user__username="zhihao").update(extension="102")


def _start() -> list[subprocess.Popen[bytes]]:
    for tool in ("kamailio", "baresip"):
        if not shutil.which(tool):
            raise SystemExit(
                f"callsop: {tool} is not installed (make test installs it from Debian)"
            )
    modules = sorted(Path("/usr/lib").glob("*/kamailio/modules/siptrace.so"))
    if not modules:
        raise SystemExit("callsop: Kamailio's siptrace module is missing (kamailio-utils-modules)")
    LAB.mkdir(parents=True, exist_ok=True)
    (LAB / "kamailio.cfg").write_text(
        KAMAILIO.format(
            proxy=PROXY_PORT,
            hep=HEP_PORT,
            modules=f"{modules[0].parent}/",
            line=CLUB_LINE,
            customer=PHONES["customer"][0],
            phone_101=PHONES["101"][0],
            phone_102=PHONES["102"][0],
        ),
        "utf-8",
    )
    said = _conversation()
    for name, (sip_port, ctrl_port) in PHONES.items():
        _phone_config(name, sip_port, ctrl_port, said.get(name))
    RECORDINGS.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    log = (LAB / "services.log").open("ab")
    callsop = [sys.executable, "-m", "callsop"]
    return [
        subprocess.Popen(
            [
                *callsop,
                "telephony",
                "--desk",
                "--listen",
                f"127.0.0.1:{HEP_PORT}",
                "--recordings",
                str(RECORDINGS),
            ],
            env=env,
            stdout=log,
            stderr=log,
        ),
        subprocess.Popen(
            ["kamailio", "-f", str(LAB / "kamailio.cfg"), "-DD", "-E", "-w", str(LAB)],
            stdout=log,
            stderr=log,
        ),
        subprocess.Popen(
            [*callsop, "serve", "--host", "127.0.0.1", "--port", str(WEB_PORT)],
            env=env,
            stdout=log,
            stderr=log,
        ),
        subprocess.Popen([*callsop, "worker"], env=env, stdout=log, stderr=log),
    ]


def _instructions() -> str:
    return f"""
callsop 示範電話系統已啟動 (the demo phone system is up):

  櫃檯網頁  http://127.0.0.1:{WEB_PORT}/   以 yijun 登入（密碼 callsop-demo）
  總機      Kamailio 127.0.0.1:{PROXY_PORT}，會館電話 02-2700-1234 → 怡君的分機 101

另開三個終端機，各開一支 baresip 電話 (three terminals, one phone each):

  客戶   baresip -f {LAB / "phone-customer"}      輸入 d，再輸入 sip:{CLUB_LINE}@127.0.0.1:{PROXY_PORT}
  怡君   baresip -f {LAB / "phone-101"}           響鈴時按 a 接聽；x 保留、X 恢復；
                                                   t 再輸入 sip:102@127.0.0.1:{PROXY_PORT} 轉接給志豪；b 掛斷
  志豪   baresip -f {LAB / "phone-102"}           按 a 接聽轉來的電話

櫃檯網頁會在響鈴時跳出來電，通話結束後出現評分。
Or let one call play by itself: .venv/bin/python -m callsop.desk.siplab --call
Ctrl-C 停止 (stops everything). Logs: {LAB / "services.log"}
"""


def _ctrl(port: int, command: str, params: str = "") -> None:
    body = json.dumps({"command": command, "params": params, "token": command}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(str(len(body)).encode() + b":" + body + b",")
        time.sleep(0.2)


def play_call() -> None:
    """One call, played on the phones: rings twice, answered, the clerk and
    the caller talk (with a hold heard as music), the caller hangs up; the
    desk phone's recording of it goes to the recording folder, named as
    FreePBX names one file per leg, where the desk finds it."""
    phones = {
        name: subprocess.Popen(
            ["baresip", "-f", str(LAB / f"phone-{name}")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("customer", "101")
    }
    try:
        time.sleep(1.5)
        customer, desk = PHONES["customer"][1], PHONES["101"][1]
        talk = _talk_seconds()
        steps = [
            (0.0, customer, "dial", f"sip:{CLUB_LINE}@127.0.0.1:{PROXY_PORT}", "客戶撥打會館電話"),
            (5.0, desk, "accept", "", "怡君在第二聲接起，雙方開始對話（中間保留時播放等候音樂）"),
            (talk, customer, "hangup", "", "客戶先掛電話"),
        ]
        answered = time.time()
        for wait, port, command, params, words in steps:
            time.sleep(wait)
            print(f"  {words}", flush=True)
            _ctrl(port, command, params)
            if command == "accept":
                answered = time.time()
        time.sleep(2)
    finally:
        for phone in phones.values():
            phone.terminate()
        for phone in phones.values():
            try:
                phone.wait(timeout=5)
            except subprocess.TimeoutExpired:
                phone.kill()
    _file_recording(answered)


def _talk_seconds() -> float:
    """How long the prepared conversation runs (the demo recording), or 30 s."""
    with wave.open(str(LAB / "phone-101" / "says.wav"), "rb") as w:
        spoken = w.getnframes() / w.getframerate() - 30  # less the silence after it
    return max(30.0, spoken)


def _file_recording(answered: float) -> None:
    """Moves the desk phone's two legs of the call just played into the
    recording folder under FreePBX's names (`in-<line>-<caller>-<date>-<time>-<id>`,
    one file per leg: what the clerk sent is `-out`, what the caller sent `-in`,
    as FreePBX records on the caller's channel)."""
    recorded = LAB / "phone-101" / "recorded"
    sent = sorted(recorded.glob("dump-*-enc.wav"))
    heard = sorted(recorded.glob("dump-*-dec.wav"))
    if not sent or not heard:
        print("  （分機 101 沒有錄到這通電話）", flush=True)
        return
    from datetime import datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(os.environ.get("CALLSOP_TIME_ZONE", "Asia/Taipei"))
    at = datetime.fromtimestamp(answered, zone).strftime("%Y%m%d-%H%M%S")
    stem = f"in-{CLUB_LINE}-0912345678-{at}-{answered:.2f}"
    RECORDINGS.mkdir(parents=True, exist_ok=True)
    shutil.move(sent[-1], RECORDINGS / f"{stem}-out.wav")
    shutil.move(heard[-1], RECORDINGS / f"{stem}-in.wav")
    print(f"  錄音已放進總機的錄音資料夾：{RECORDINGS / stem}-*.wav", flush=True)
    print("  櫃檯會自動找到這通電話、聆聽錄音並重新評分（約一分鐘）。", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m callsop.desk.siplab", description=__doc__)
    parser.add_argument(
        "--call", action="store_true", help="play one call on the phones, then stop"
    )
    args = parser.parse_args(argv)
    if args.call:
        play_call()
        return 0
    _prepare_desk()
    services = _start()
    print(_instructions(), flush=True)
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop and all(p.poll() is None for p in services):
            time.sleep(0.5)
    finally:
        for process in services:
            process.terminate()
        for process in services:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    if not stop:
        print(f"callsop: a service stopped; see {LAB / 'services.log'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
