"""The `callsop` command: score calls, read the rule catalogue, print the policy."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from callsop import __version__
from callsop.desk.server import THREADS
from callsop.policy import PolicyError, default_policy_text, load_policy

EXIT_OK = 0
EXIT_REFUSED = 1  # some records were refused; the rest were scored
EXIT_USAGE = 2
PROGRESS_FROM = 300  # calls; smaller batches finish before a bar helps


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callsop",
        description="callsop：依會館電話 SOP 檢核每一通電話。Score club phone calls against the SOP.",
    )
    parser.add_argument("--version", action="version", version=f"callsop {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    score = commands.add_parser(
        "score",
        help="score call records (JSON, JSON array, JSON Lines, WebVTT)",
        description="Score call records against every rule. All files form one batch, so "
        "retries and redials are matched across them. Refused records are reported on "
        "standard error and the exit status is 1; the others are still scored.",
    )
    score.add_argument(
        "files", nargs="+", metavar="FILE", help="call record files; - reads standard input"
    )
    score.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table: a readable summary (default); json: one scorecard a line",
    )
    score.add_argument("--policy", metavar="FILE", help="the club's policy (TOML) over the default")
    score.add_argument(
        "--lang",
        choices=("zh-Hant", "en"),
        default="zh-Hant",
        help="the table's language: zh-Hant (default), or en, the rules' own words",
    )
    score.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="worker processes for big batches (default: one per core)",
    )
    score.add_argument(
        "--now",
        metavar="TIME",
        help="ISO time the batch runs up to: retries and redials still due are na",
    )

    rules = commands.add_parser("rules", help="list the rule catalogue, or show one rule's page")
    rules.add_argument("rule", nargs="?", metavar="ID", help="a rule id, e.g. hold.max-duration")
    rules.add_argument("--policy", metavar="FILE", help="show options and weights from this policy")

    commands.add_parser("policy", help="print the default policy, the start of a club's own file")

    telephony = commands.add_parser(
        "telephony",
        help="collect call events from the PBX's HEPv3 mirror of its SIP traffic",
        description="Listen for HEPv3 datagrams (Kamailio siptrace, Asterisk res_hep, "
        "FreeSWITCH, heplify) and print each call event as a JSON line the moment it "
        "happens. Stops on Ctrl-C or SIGTERM and prints what it heard on standard error. "
        "With CALLSOP_HEP_PASSWORD set, only packets carrying that HEP password count.",
    )
    telephony.add_argument(
        "--listen",
        default="127.0.0.1:9060",
        metavar="HOST:PORT",
        help="where to listen (default 127.0.0.1:9060; port 0 picks one)",
    )
    telephony.add_argument(
        "--pbx",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="the SIP address of a back-to-back PBX (Asterisk, FreePBX, FreeSWITCH), so the "
        "legs it makes of each call are one call from the first call on (otherwise learnt "
        "from the first call it relays); may be given more than once",
    )
    telephony.add_argument(
        "--ami",
        metavar="HOST:PORT",
        help="hear an Asterisk's Manager Interface instead of HEP (log-in from "
        "CALLSOP_AMI_USERNAME and CALLSOP_AMI_SECRET; reconnects when dropped)",
    )
    telephony.add_argument(
        "--recordings",
        metavar="DIR",
        help="watch the PBX's recording folder: each new file is matched to its call on the "
        "desk and heard in the background (implies --desk)",
    )
    telephony.add_argument(
        "--desk",
        action="store_true",
        help="also feed the desk: store each event and put the call on the club's screens "
        "(the desk's settings: CALLSOP_SECRET_KEY, DATABASE_URL)",
    )
    from callsop.audio import cli as audio_cli

    audio_cli.add_parser(commands)
    commands.add_parser(
        "worker",
        help="run the desk's background jobs (hearing recordings, rescoring)",
        description="Takes the desk's queued jobs (recordings to hear, calls to rescore) one "
        "at a time until stopped; run as many as the machine's cores allow, on any machine "
        "that reaches the desk's database.",
    )
    for name, text in (
        ("serve", "serve the desk web app (migrates first); needs CALLSOP_SECRET_KEY"),
        ("demo", "load the demo chain into an empty database and serve the desk"),
    ):
        web = commands.add_parser(name, help=text, description=text)
        web.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
        )
        web.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        web.add_argument("--no-serve", action="store_true", help="prepare the database and stop")
        if name == "serve":
            web.add_argument(
                "--workers",
                type=int,
                default=1,
                help="app processes sharing the database (default 1; more need PostgreSQL)",
            )
            web.add_argument(
                "--threads",
                type=int,
                default=THREADS,
                help=f"request threads a process (default {THREADS}; push streams take none)",
            )
    dialer = commands.add_parser(
        "dialer",
        help="place the desk's outgoing calls through the PBX (CALLSOP_DIALER=on on the desk)",
        description="Takes each outgoing call a clerk dials on the desk and places it: "
        "with --proxy as the club's own SIP user agent (pjsua2) dialling through the PBX; "
        "with --ami through Asterisk's Manager Interface, which rings the clerk's own "
        "phone (PJSIP/EXTENSION) and, once it is picked up, dials the customer through the "
        "dialplan's --context (log-in from CALLSOP_AMI_USERNAME and CALLSOP_AMI_SECRET; the "
        "manager.conf user needs write = originate,call and read = call). Either way it "
        "gives up at the policy's 10 rings, retries 3-5 minutes later, and redials at once "
        "after a dropped line.",
    )
    pbx = dialer.add_mutually_exclusive_group(required=True)
    pbx.add_argument("--proxy", metavar="HOST:PORT", help="the PBX, for our SIP user agent")
    pbx.add_argument("--ami", metavar="HOST:PORT", help="Asterisk's Manager Interface")
    dialer.add_argument(
        "--extension", required=True, help="the clerk's extension the calls come from"
    )
    dialer.add_argument(
        "--context", help="with --ami: the dialplan context that dials out (default from-desk)"
    )
    dialer.add_argument(
        "--bind", default="127.0.0.1", help="with --proxy: local address (default 127.0.0.1)"
    )
    manage = commands.add_parser(
        "manage",
        help="the desk's administration commands (Django's manage.py), e.g. createsuperuser",
        add_help=False,
    )
    manage.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _web(args: argparse.Namespace) -> int:
    from callsop.desk import server

    if not _desk_ready(demo=args.command == "demo"):
        return EXIT_USAGE
    if args.command == "demo":
        server.load_demo_once()
        server.print_logins()
    if not args.no_serve:
        server.serve(
            args.host,
            args.port,
            workers=getattr(args, "workers", 1),
            threads=getattr(args, "threads", THREADS),
        )
    return EXIT_OK


def _desk_ready(*, demo: bool = False) -> bool:
    """The desk's settings loaded and its database migrated; False (said why) if not."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    from callsop.desk import server

    try:
        server.setup(demo=demo)
    except ImproperlyConfigured as exc:
        _error(str(exc))
        return False
    try:
        server.migrate()
    except DatabaseError as exc:  # unreachable, refused, no such database
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _error(f"the database cannot be used (DATABASE_URL): {reason}")
        return False
    return True


def _dialer(args: argparse.Namespace) -> int:
    """`callsop dialer`: our SIP user agent (--proxy) or Asterisk's Originate (--ami)."""
    import os
    import signal

    from callsop.telephony.ami_dialer import AmiDialer, AmiError

    def ami_dialer() -> AmiDialer | None:
        host, _, port = args.ami.rpartition(":")
        username = os.environ.get("CALLSOP_AMI_USERNAME", "")
        secret = os.environ.get("CALLSOP_AMI_SECRET", "")
        if not host or not port.isdigit() or int(port) > 65535:
            _error(f"--ami: expected HOST:PORT, got {args.ami!r}")
        elif not username or not secret:
            _error("--ami: set CALLSOP_AMI_USERNAME and CALLSOP_AMI_SECRET")
        else:
            context = args.context or "from-desk"
            try:
                found = AmiDialer(
                    host=host.strip("[]"),
                    port=int(port),
                    username=username,
                    secret=secret,
                    extension=args.extension,
                    context=context,
                )
            except AmiError as exc:
                _error(f"--ami: {exc}")
                return None
            _error(f"dialling through AMI at {args.ami}: PJSIP/{args.extension}, then {context}")
            return found
        return None

    if args.context is not None and not args.ami:
        _error("--context goes with --ami")
        return EXIT_USAGE
    ami = ami_dialer() if args.ami else None
    if (args.ami and ami is None) or not _desk_ready():
        return EXIT_USAGE
    from callsop.desk.dialer_worker import Placer, run

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    with contextlib.ExitStack() as stack:
        dialer: Placer
        if ami is not None:
            dialer = ami
        else:
            from callsop.telephony.dialer import Dialer

            sip = Dialer(proxy=args.proxy, extension=args.extension, bind=args.bind)
            dialer = stack.enter_context(sip)
            _error(f"dialling through {args.proxy} as {args.extension}")
        placed = run(dialer, stop=lambda: stopping, log=_error)
    _error(f"stopped; placed {placed} call(s)")
    return EXIT_OK


def _manage(args: argparse.Namespace) -> int:
    """Django's management commands (and the desk's own: addclub, addstaff),
    on a database migrated first, as `callsop serve` leaves it."""
    from django.core.management import execute_from_command_line

    asks_for_help = not args.args or args.args[0] in ("help", "--help", "-h", "--version")
    if not asks_for_help and not _desk_ready():
        return EXIT_USAGE
    if asks_for_help:
        import os

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callsop.desk.settings")
    execute_from_command_line(["callsop manage", *args.args])
    return EXIT_OK


def _error(message: str) -> None:
    sys.stderr.write(f"callsop: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "score":
            return _score(args)
        if args.command == "rules":
            return _rules(args)
        if args.command == "telephony":
            return _telephony(args)
        if args.command in ("serve", "demo"):
            return _web(args)
        if args.command == "manage":
            return _manage(args)
        if args.command == "dialer":
            return _dialer(args)
        if args.command == "transcribe":
            from callsop.audio import cli as audio_cli

            return audio_cli.run(args)
        if args.command == "worker":
            if not _desk_ready():
                return EXIT_USAGE
            from callsop.desk import worker

            return worker.run()
        sys.stdout.write(default_policy_text())
        return EXIT_OK
    except PolicyError as exc:
        _error(f"policy: {exc}")
        return EXIT_USAGE
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (callsop score … | head)
        return EXIT_OK


def _parse_now(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PolicyError(f"--now: not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise PolicyError(f"--now: needs a UTC offset, e.g. {value}+08:00")
    return moment.timestamp()


def _score(args: argparse.Namespace) -> int:
    from callsop.batch import default_jobs, score_units
    from callsop.record.reader import load_paths

    policy = load_policy(args.policy)
    now = _parse_now(args.now)
    if args.jobs is not None and args.jobs < 1:
        raise PolicyError("--jobs: give 1 or more")
    units = list(load_paths(args.files))
    with _progress(units) as on_progress:
        result = score_units(
            units,
            policy,
            now=now,
            jobs=args.jobs or default_jobs(),
            as_json=args.format == "json",
            out=sys.stdout.buffer if args.format == "json" else None,
            on_progress=on_progress,
        )
    for refusal in result.refusals:
        _error(f"refused {refusal}")
    if args.format != "json":
        from rich.console import Console

        from callsop.report.table import print_scorecards

        if args.lang == "en":
            _print_english(result.cards)
        else:
            print_scorecards(Console(), result.cards)
    if result.refusals:
        _error(f"{len(result.refusals)} record(s) refused; {result.count} scored")
        return EXIT_REFUSED
    return EXIT_OK


def _print_english(cards: Sequence[Any]) -> None:
    """The scorecards in the rules' own words: each call's score, then each
    failed rule with its clause, what was observed and the evidence."""
    from collections import Counter

    from callsop.report.table import format_evidence

    for card in cards:
        counts = Counter(f.verdict for f in card.findings)
        score = "—" if card.score is None else f"{card.score:.1f}"
        tally = f"pass {counts['pass']}, fail {counts['fail']}, na {counts['na']}"
        print(f"call {card.call}  score {score}  ({tally})")
        failed = [f for f in card.findings if f.verdict == "fail"]
        if not failed:
            print("  every applicable rule passed")
        for f in failed:
            print(f"  ✗ {f.rule}  §{f.clause}" + (f"  (judged on {f.basis})" if f.basis else ""))
            print(f"    {f.message}")
            if f.evidence:
                print(f"    evidence: {format_evidence(f.evidence)}")
        print()


@contextmanager
def _progress(units: Sequence[Any]) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on standard error for big batches at a terminal."""
    from callsop.batch import records_in

    total = records_in(units)
    if total <= PROGRESS_FROM or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = ("評分中", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("score", total=total)
        yield lambda done: progress.update(task, completed=done)


def _rules(args: argparse.Namespace) -> int:
    from rich.console import Console

    from callsop.report.catalogue import print_catalogue, print_rule
    from callsop.rules import RULES_BY_ID

    policy = load_policy(args.policy)
    console = Console()
    if args.rule is None:
        print_catalogue(console, policy)
        return EXIT_OK
    rule = RULES_BY_ID.get(args.rule)
    if rule is None:
        near = difflib.get_close_matches(args.rule, list(RULES_BY_ID), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else "; `callsop rules` lists them"
        _error(f"no rule {args.rule!r}{hint}")
        return EXIT_USAGE
    print_rule(console, rule, policy)
    return EXIT_OK


def _ami(address: str, sink: Callable[[Any], None], feed: Any) -> int:
    import asyncio
    import os
    import signal

    from callsop.telephony.ami import listen

    host, _, port = address.rpartition(":")
    username = os.environ.get("CALLSOP_AMI_USERNAME", "")
    secret = os.environ.get("CALLSOP_AMI_SECRET", "")
    if not host or not port.isdigit():
        _error(f"--ami: expected HOST:PORT, got {address!r}")
        return EXIT_USAGE
    if not username or not secret:
        _error("--ami: set CALLSOP_AMI_USERNAME and CALLSOP_AMI_SECRET")
        return EXIT_USAGE

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        _error(f"listening to AMI at {host}:{port}")
        await listen(sink, host=host, port=int(port), username=username, secret=secret, stop=stop)

    asyncio.run(run())
    if feed is not None:
        feed.close()
        _error(f"desk: {feed.stored} events stored, {feed.repeated} repeats ignored")
    return EXIT_OK


def _telephony(args: argparse.Namespace) -> int:
    import asyncio
    import dataclasses
    import logging
    import os
    import signal
    import threading
    import time

    from callsop.telephony.collector import Collector, serve
    from callsop.telephony.dialogs import CallEvent
    from callsop.telephony.legs import CallJoiner

    host, _, port = args.listen.rpartition(":")
    for pbx in args.pbx:
        pbx_host, _, pbx_port = pbx.rpartition(":")
        if not pbx_host or not pbx_port.isdigit() or int(pbx_port) > 65535:
            _error(f"--pbx: expected HOST:PORT, got {pbx!r}")
            return EXIT_USAGE
    if not host or not port.isdigit() or int(port) > 65535:
        _error(f"--listen: expected HOST:PORT, got {args.listen!r}")
        return EXIT_USAGE
    encode = msgspec.json.Encoder().encode

    def emit(event: CallEvent) -> None:
        line = dataclasses.asdict(event) | {"emitted_at": time.time()}
        try:
            sys.stdout.write(encode(line).decode() + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # the reader went away (… | head): stop listening
            stopping.set()

    feed = None
    watcher = None
    if args.desk or args.recordings:
        if not _desk_ready():
            return EXIT_USAGE
        from callsop.desk.feed import DeskFeed

        if args.recordings:
            from callsop.desk.recordings_watch import start

            watcher = start(Path(args.recordings), log=_error)

        feed = DeskFeed(source="ami" if args.ami else "hep")
        printed = emit

        def emit_and_feed(event: CallEvent) -> None:
            printed(event)
            feed(event)

        sink = emit_and_feed
    else:
        sink = emit
    if args.ami:
        return _ami(args.ami, sink, feed)
    password = os.environ.get("CALLSOP_HEP_PASSWORD")
    logging.basicConfig(format="callsop: %(message)s", level=logging.WARNING)
    collector = Collector(
        sink, auth_key=password.encode() if password else None, tracker=CallJoiner(pbx=args.pbx)
    )
    if feed is not None:
        from callsop.desk.services.telephony import pbx_live_histories

        histories = pbx_live_histories()
        for history in histories:
            collector.tracker.resume(history)
        if histories:
            _error(f"desk: took up {len(histories)} call(s) still live from before")

    stopping = threading.Event()

    async def listen() -> None:
        ready = lambda h, p: _error(f"listening for HEP on {h}:{p}")  # noqa: E731
        task = asyncio.ensure_future(serve(collector, host.strip("[]"), int(port), ready=ready))
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        while not task.done() and not stopping.is_set():
            await asyncio.sleep(0.2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(listen())
    except OSError as exc:
        _error(f"cannot listen on {args.listen}: {exc.strerror or exc}")
        return EXIT_USAGE
    if watcher is not None:
        watcher.stop()
    if feed is not None:
        feed.close()
        _error(f"desk: {feed.stored} events stored, {feed.repeated} repeats ignored")
    heard = ", ".join(f"{k} {v}" for k, v in collector.counts.items()) or "nothing"
    with contextlib.suppress(BrokenPipeError):
        _error(f"stopped; heard {heard}")
        sys.stdout.close()
    return EXIT_OK
