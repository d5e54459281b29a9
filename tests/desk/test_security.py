"""`callsop serve` secure by default: log-in throttling, TLS cookies and
HSTS, a Content-Security-Policy, no weak or public key, quiet 403s."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from callsop.desk import server
from callsop.desk.models import Call
from callsop.desk.services import calls as svc
from callsop.desk.settings import DEFAULT_SECRET_KEY
from tests.desk.conftest import PASSWORD, World


def _login(password: str, address: str = "10.0.0.1") -> int:
    response = Client(REMOTE_ADDR=address).post(
        "/login/", {"username": "alice", "password": password}
    )
    return response.status_code


def test_three_hundred_wrong_passwords_lock_the_account_out(world: World) -> None:
    assert _login(PASSWORD) == 302  # the right password works, at first
    statuses = [_login(f"guess-{n}") for n in range(300)]
    assert statuses[:9] == [200] * 9  # the form again, saying the password was wrong
    assert set(statuses[10:]) == {429}
    assert _login(PASSWORD) == 429  # and now the right one is refused too
    locked = Client(REMOTE_ADDR="10.0.0.1").post(
        "/login/", {"username": "alice", "password": PASSWORD}
    )
    page = locked.content.decode()
    assert "登入失敗次數過多" in page and "15 分鐘" in page
    # Only that account from that address: the clerk at another desk logs in.
    assert _login(PASSWORD, address="10.0.0.2") == 302


def test_a_right_password_before_the_limit_resets_the_count(world: World) -> None:
    for _ in range(3):
        assert [_login(f"typo-{n}") for n in range(9)] == [200] * 9
        assert _login(PASSWORD) == 302


def test_a_refusal_is_logged_as_one_line(world: World) -> None:
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(type(f).__name__ == "ForbiddenOneLine" for f in h.filters)
    )
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        assert world.client(world.alice).get("/dashboard/").status_code == 403
    finally:
        handler.setStream(old)  # type: ignore[arg-type]
    logged = stream.getvalue()
    assert "Forbidden" in logged and "/dashboard/" in logged
    assert "Traceback" not in logged and logged.count("\n") == 1


PAGES = ["/desk/", "/inbox/", "/calls/", "/knowledge/", "/policy/", "/dashboard/"]


def test_every_page_has_a_policy_and_no_inline_script(world: World) -> None:
    call = svc.call_ring(club=world.xinyi, phone="0912345678")
    svc.call_answer(call=call, clerk=world.bob)
    client = world.client(world.bob)
    for path in [*PAGES, f"/calls/{call.pk}/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response.headers["Content-Security-Policy"]
        assert (
            "script-src 'self'" in policy
            and "unsafe-inline" not in policy.split("style-src-attr")[0]
        )
        page = response.content.decode()
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in tag, f"{path}: inline script {tag}"
        assert not re.search(r"\son[a-z]+\s*=", page), f"{path}: an inline event handler"
        assert '"includeIndicatorStyles": false' in page
    assert Call.objects.count() == 1


def _settings_probe(tmp_path: Path, **env: str) -> str:
    """What a request to /login/ answers under these settings, in a fresh process."""
    code = (
        "import django, os; django.setup();"
        "from django.test import Client;"
        "kw = {k: v for k, v in (a.split('=', 1) for a in os.environ['PROBE'].split(';') if a)};"
        "r = Client().get('/login/', **kw);"
        "print(r.status_code, r.headers.get('Location', '-'),"
        " r.headers.get('Strict-Transport-Security', '-'),"
        " 'secure' if r.cookies.get('csrftoken') and r.cookies['csrftoken']['secure'] else 'plain')"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CALLSOP_", "DJANGO_"))}
    base.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=base
        | {
            "DJANGO_SETTINGS_MODULE": "callsop.desk.settings",
            "CALLSOP_DATA_DIR": str(tmp_path),
            "CALLSOP_SECRET_KEY": "k" * 40,
            "CALLSOP_ALLOWED_HOSTS": "testserver",
        }
        | env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_plain_http_by_default(tmp_path: Path) -> None:
    assert _settings_probe(tmp_path, PROBE="") == "200 - - plain"


def test_tls_gives_secure_cookies_and_hsts(tmp_path: Path) -> None:
    https = _settings_probe(tmp_path, CALLSOP_HTTPS="on", PROBE="secure=True")
    assert https == "200 - max-age=31536000 secure"
    plain = _settings_probe(tmp_path, CALLSOP_HTTPS="on", PROBE="")
    assert plain.startswith("301 https://testserver/login/")


def test_behind_a_proxy_its_forwarded_proto_counts(tmp_path: Path) -> None:
    forwarded = _settings_probe(tmp_path, CALLSOP_PROXY="on", PROBE="HTTP_X_FORWARDED_PROTO=https")
    assert forwarded == "200 - max-age=31536000 secure"
    assert _settings_probe(tmp_path, CALLSOP_PROXY="on", PROBE="").startswith("301 https://")


def _serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CALLSOP_", "DJANGO_", "DATABASE_URL"))
    }
    return subprocess.run(
        [sys.executable, "-m", "callsop", "serve", "--port", "1"],
        env=base | {"CALLSOP_DATA_DIR": str(tmp_path)} | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"CALLSOP_SECRET_KEY": "x"}, "too short (1 characters)"),
        ({"CALLSOP_DEBUG": "on"}, "public development key"),
    ],
)
def test_serve_refuses_a_weak_or_public_key(tmp_path: Path, env: dict[str, str], says: str) -> None:
    result = _serve(tmp_path, **env)
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and "CALLSOP_SECRET_KEY" in result.stderr
    assert "callsop desk: http" not in result.stderr  # never started serving


def test_a_key_needs_32_characters_and_not_the_public_one() -> None:
    with pytest.raises(ImproperlyConfigured, match="too short"):
        server.secret_key_check("k" * 31)
    with pytest.raises(ImproperlyConfigured, match="public development key"):
        server.secret_key_check(DEFAULT_SECRET_KEY)
    server.secret_key_check("k" * 32)


def test_a_failed_security_check_says_in_zh_hant_what_to_do_and_stores_nothing(
    world: World,
) -> None:
    call = svc.call_ring(club=world.xinyi, phone="0912-345-678")
    clerk = Client(enforce_csrf_checks=True)
    clerk.force_login(world.alice.user)
    # No token: the page is stale, or the session changed in another tab.
    stale = clerk.post(f"/calls/{call.pk}/answer/", HTTP_HX_REQUEST="true")
    assert stale.status_code == 403
    page = stale.content.decode()
    assert "安全檢查未通過" in page and "請重新整理頁面" in page
    assert "X-Callsop-Refused" in stale
    assert Call.objects.get(pk=call.pk).state == Call.State.RINGING
    # The desk reached at an address the deployment does not trust: the
    # message names the setting that must list it.
    clerk.get("/desk/")
    token = clerk.cookies["csrftoken"].value
    foreign = clerk.post(
        f"/calls/{call.pk}/answer/",
        {"csrfmiddlewaretoken": token},
        HTTP_ORIGIN="https://desk.example.org:8443",
    )
    assert foreign.status_code == 403
    assert "https://desk.example.org:8443" in foreign.content.decode()
    assert "CALLSOP_CSRF_TRUSTED_ORIGINS" in foreign.content.decode()
    assert Call.objects.get(pk=call.pk).state == Call.State.RINGING
