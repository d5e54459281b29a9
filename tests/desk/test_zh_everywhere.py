"""Every word the desk shows is Traditional Chinese.

The desk is walked as a clerk and as a manager: the desk, the call screen
in each state, scorecards with findings of every kind (every rule example
stored as a call), the timeline, the inbox, the dashboard, the rule pages
and the call list. Any run of Latin letters in visible text fails, except
what is meant to be there (keyboard keys, the product's name, file formats,
"5W1H", rule ids in small print, what a person typed), and so does an
empty list item."""

from __future__ import annotations

import ast
import gettext
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from django.test import Client
from django.utils import timezone

from callsop.desk.models import Call, Dispute, Scorecard, Staff
from callsop.desk.services import calls as svc
from callsop.desk.services import outbound
from callsop.desk.services.imports import call_import
from callsop.desk.services.policy import club_policy_save
from callsop.desk.services.scoring import dispute_raise
from callsop.desk.views import scorecards as views_scorecards
from callsop.policy import default_policy
from callsop.record.reader import Refusal, read_bytes
from callsop.report.messages_zh import refusal_zh, rule_title, zh
from callsop.rules import CATALOGUE
from callsop.rules.examples import all_examples
from tests.desk.conftest import World

TAIPEI = ZoneInfo("Asia/Taipei")
# Words that are meant to be Latin: the product, the note's 5W1H and its six
# words as the SOP itself writes them, the SOP's abbreviation, file formats.
ALLOWED = {"callsop", "5W1H", "WHEN", "WHO", "WHERE", "WHAT", "WHY", "HOW", "SOP"}
ALLOWED |= {"JSON", "WAV", "FLAC", "OGG", "MP3", "MB", "WebVTT", "CSV"}
# A run of Latin letters with the digits and marks glued to it ("5W1H", "v2.json").
LATIN = re.compile(r"[A-Za-z0-9_.:/@+-]*[A-Za-z][A-Za-z0-9_.:/@+-]*")
# Elements whose text is not prose: rule ids in small print, keys, code.
_SKIPPED = {"script", "style", "kbd", "template", "title"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"}
_VOID |= {"source", "track", "wbr"}
_SHOWN_ATTRIBUTES = ("placeholder", "aria-label", "alt")


class _Visible(HTMLParser):
    """The text a person sees: data outside script/style and the skipped
    elements, with labels read aloud; and the text of every <li>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, bool]] = []  # (tag, skipped)
        self.texts: list[str] = []
        self.items: list[list[str]] = []
        self.empty_items = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        small_code = tag == "code" and "small" in found.get("class", "").split()
        for name in _SHOWN_ATTRIBUTES:
            if found.get(name):
                self.texts.append(found[name])
        if tag in _VOID:
            return
        self.open.append((tag, tag in _SKIPPED or small_code))
        if tag == "li":
            self.items.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or tag not in {t for t, _ in self.open}:
            return
        while self.open:
            closed, _ = self.open.pop()
            if closed == "li" and not "".join(self.items.pop()).strip():
                self.empty_items += 1
            if closed == tag:
                break

    def handle_data(self, data: str) -> None:
        if any(skipped for _, skipped in self.open):
            if self.items:
                self.items[-1].append(data)
            return
        for item in self.items:
            item.append(data)
        self.texts.append(data)


def latin_runs(page: str, typed: set[str]) -> list[str]:
    """The runs of Latin letters a person sees on `page` that are not allowed."""
    parser = _Visible()
    parser.feed(page)
    runs = []
    for text in parser.texts:
        for run in LATIN.findall(text):
            word = run.strip(".:/-+_")
            if word in ALLOWED or word in typed or not re.search("[A-Za-z]", word):
                continue
            runs.append(word)
    return runs


def visible_text(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return " ".join(parser.texts)


def empty_items(page: str) -> int:
    parser = _Visible()
    parser.feed(page)
    return parser.empty_items


# What the examples' records carry as data, typed by people: shown as written.
TYPED = {
    "Ms",
    "Mr",
    "Wang",
    "Chen",
    "Lin",
}


def _staff_of(world: World) -> Callable[[str | None], Staff | None]:
    def staff_of(ident: str | None) -> Staff | None:
        if ident is None:
            return world.alice
        return world.bob if "manager" in ident or ident.endswith("00") else world.dora

    return staff_of


def _examples(world: World, now: datetime, rules: set[str] | None = None) -> list[Call]:
    """The first call of each rule example (of `rules`, or all) as an ended
    call of alice's club."""
    calls = []
    for n, (rule, examples) in enumerate(sorted(all_examples().items())):
        if rules is not None and rule not in rules:
            continue
        for m, example in enumerate(examples):
            record = example.call
            start = now - timedelta(hours=2, minutes=n, seconds=m * 5)
            calls.append(
                call_import(
                    club=world.xinyi,
                    record=record,
                    staff_of=_staff_of(world),
                    shift=start - record.started_at,
                    now=now,
                )
            )
    return calls


def _live_calls(world: World, now: datetime) -> list[Call]:
    """The call screen in each state: ringing, answered, on hold, just ended,
    an outgoing call planned, and one given up unanswered."""
    ringing = svc.call_ring(club=world.xinyi, phone="0912-000-111", now=now)
    answered = svc.call_ring(club=world.xinyi, phone="0912-000-222", now=now)
    svc.call_answer(call=answered, clerk=world.alice, now=now + timedelta(seconds=5))
    held = svc.call_ring(club=world.xinyi, phone="0912-000-333", now=now)
    svc.call_answer(call=held, clerk=world.alice, now=now + timedelta(seconds=3))
    svc.call_hold(call=held, now=now + timedelta(seconds=20))
    svc.memo_take(
        call=answered,
        taken_by=world.alice,
        for_staff=world.dora,
        from_name="李先生",
        phone="0922-333-444",
        message="請回電討論會籍續約",
        now=now + timedelta(seconds=30),
    )
    svc.complaint_log(call=answered, clerk=world.alice, summary="更衣室太冷", now=now)
    svc.call_escalate(call=answered, reason="會員在館內受傷", now=now + timedelta(seconds=40))
    just_ended = svc.call_ring(club=world.xinyi, phone="0912-000-444", now=now)
    svc.call_answer(call=just_ended, clerk=world.alice, now=now + timedelta(seconds=4))
    svc.call_end(call=just_ended, by="customer", now=now + timedelta(seconds=50))
    plan = outbound.outbound_plan(club=world.xinyi, clerk=world.alice)
    dialled = outbound.outbound_plan(
        club=world.xinyi,
        clerk=world.alice,
        data={
            "caller_name": "林小姐",
            "caller_phone": "0933-222-111",
            "plan_purpose": "通知泳池整修",
            "plan_name": "林小姐",
            "plan_name_verified": "on",
            "plan_number_verified": "on",
            "plan_salutation": "林小姐",
            "plan_outline": "整修日期；替代場館",
            "plan_time_budget_min": "3",
            "plan_material": "整修公告",
            "plan_hard_reply": "無",
        },
    )
    no_answer = outbound.outbound_plan(club=world.xinyi, clerk=world.alice, redial_of=dialled)
    outbound.outbound_dial(call=no_answer, now=now)
    outbound.outbound_ringing(call=no_answer, now=now)
    outbound.outbound_no_answer(call=no_answer, now=now + timedelta(seconds=40))
    return [ringing, answered, held, just_ended, plan, dialled, no_answer]


def _walked(world: World, rules: set[str] | None = None) -> list[Call]:
    now = timezone.now()
    # A club whose policy differs from the default: titles quote its numbers.
    club_policy_save(club=world.xinyi, text="[timing]\nmax_hold_s = 30\nanswer_within_rings = 4\n")
    calls = _examples(world, now, rules)
    judged = next(
        c
        for c in calls
        if c.clerk_id == world.alice.pk
        and any(
            f["rule"] == "hold.max-duration" and f["verdict"] == "fail"
            for f in Scorecard.objects.get(call=c).findings
        )
    )
    dispute_raise(call=judged, clerk=world.alice, rule="hold.max-duration", comment="客戶要求等候")
    return calls + _live_calls(world, now)


@pytest.fixture
def walked(world: World) -> list[Call]:
    """Every rule example and the live calls."""
    return _walked(world)


@pytest.fixture
def some(world: World) -> list[Call]:
    """The examples of the rules that name people, times and thresholds, and the live calls."""
    return _walked(world, {"hold.max-duration", "inbound.escalate-urgent", "inbound.warm-transfer"})


def _pages(world: World, staff: Staff, calls: list[Call]) -> list[str]:
    urls = ["/desk/", "/desk/ringing/", "/desk/due/", "/inbox/", "/calls/", "/knowledge/"]
    if staff.role == Staff.Role.MANAGER:
        urls += ["/dashboard/", "/jobs/"]
    urls += [f"/rules/{rule.id}/" for rule in CATALOGUE]
    for call in calls:
        urls.append(f"/calls/{call.pk}/")
        if call.state != Call.State.ENDED:
            urls.append(f"/calls/{call.pk}/panel/")
    return urls


def _walk(client: Client, urls: list[str]) -> dict[str, str]:
    pages = {}
    for url in urls:
        response = client.get(url)
        if url.endswith("/panel/") and response.status_code == 303:
            continue  # a call that is not live has no panel: it sends to the call's page
        assert response.status_code == 200, url
        pages[url] = response.content.decode()
    return pages


def test_every_page_reads_in_chinese(world: World, walked: list[Call]) -> None:
    pages = {}
    for staff in (world.alice, world.bob):
        walk = _walk(world.client(staff), _pages(world, staff, walked))
        pages.update({f"{staff.user.username} {url}": page for url, page in walk.items()})
    english: dict[str, list[str]] = {}  # word: the pages it is on
    for url, page in pages.items():
        for word in sorted(set(latin_runs(page, TYPED))):
            english.setdefault(word, []).append(url)
    assert not english, "\n".join(f"{w!r} on {u[:3]} ({len(u)} pages)" for w, u in english.items())
    empty = {url: n for url, p in pages.items() if (n := empty_items(p))}
    assert empty == {}


def test_the_login_page_reads_in_chinese(client: Client, db: None) -> None:
    page = client.get("/login/").content.decode()
    assert latin_runs(page, set()) == []


def test_the_checker_sees_english_and_empty_items() -> None:
    """The walk's eyes: what they must catch, and what they let through."""
    page = (
        "<ul><li>hangup (customer)</li><li> </li><li><kbd>E</kbd></li></ul>"
        '<p>按 <kbd>A</kbd> 接聽 · callsop · 5W1H · <code class="small">hold.max-duration</code></p>'
        '<input placeholder="your name"><span title="hold of 66 s">保留 66 秒</span>'
    )
    assert latin_runs(page, set()) == ["hangup", "customer", "your", "name"]
    assert empty_items(page) == 1


def test_times_are_the_clubs_local_times(world: World, some: list[Call]) -> None:
    """Due times read 10:00 for 10:00 in Taipei, never the UTC time or an offset."""
    retry = next(c for c in some if c.tasks.filter(kind="retry").exists())
    due = retry.tasks.get(kind="retry").due.astimezone(TAIPEI)
    page = visible_text(world.client(world.alice).get("/inbox/").content.decode())
    assert due.strftime("%H:%M") in page
    assert "+00:00" not in page and "+08:00" not in page
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", page)


def test_titles_quote_the_clubs_policy(world: World, some: list[Call]) -> None:
    client = world.client(world.bob)
    rule = client.get("/rules/hold.max-duration/").content.decode()
    assert "<h1>等候不超過 30 秒 <code" in rule  # the SOP's quote (不超過一分鐘) stays below
    assert "<h1>4 聲內接聽 <code" in client.get("/rules/inbound.answer-promptly/").content.decode()
    card = client.get(f"/calls/{some[0].pk}/").content.decode()
    assert "等候不超過 30 秒" in card and "等候不超過一分鐘" not in card
    assert "4 聲內接聽" in card and "三聲內接聽" not in card
    dashboard = client.get("/dashboard/").content.decode()
    assert "超過 30 秒" in dashboard and "一分鐘" not in dashboard
    assert "4 聲內接聽" in dashboard and "三聲" not in dashboard


def test_the_dispute_list_names_the_rule(world: World, some: list[Call]) -> None:
    dispute = Dispute.objects.get()
    assert dispute.rule == "hold.max-duration"
    for staff in (world.alice, world.bob):
        page = world.client(staff).get("/inbox/").content.decode()
        assert "等候不超過 30 秒" in page


def test_staff_are_named_not_numbered(world: World, some: list[Call]) -> None:
    """A finding that names a colleague (an escalation, a transfer) gives the name."""
    client = world.client(world.bob)
    pages = [client.get(f"/calls/{c.pk}/").content.decode() for c in some]
    escalated = [p for p in pages if "已呈報給" in p]
    assert escalated
    for page in escalated:
        assert re.search(r"已呈報給 (王淑芬|陳怡君|張建國)", page)
    assert not any(re.search(r"(呈報給|轉接給) \d", p) for p in pages)


CATALOGUE_DIR = Path(views_scorecards.__file__).parents[1] / "locale" / "zh_Hant" / "LC_MESSAGES"


def _po_entries(path: Path) -> dict[str, str]:
    """msgid: msgstr of a .po file of one-line entries, the header left out."""
    entries: dict[str, str] = {}
    msgid = None
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("msgid "):
            msgid = ast.literal_eval(line[6:])
        elif line.startswith("msgstr ") and msgid:
            entries[msgid] = ast.literal_eval(line[7:])
    return entries


def test_the_compiled_catalogue_says_what_the_po_file_says() -> None:
    entries = _po_entries(CATALOGUE_DIR / "django.po")
    with (CATALOGUE_DIR / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    assert entries and all(entries.values())
    assert {k: v for k, v in compiled._catalog.items() if k} == entries  # type: ignore[attr-defined]


def test_every_timeline_word_is_in_the_catalogue() -> None:
    entries = _po_entries(CATALOGUE_DIR / "django.po")
    used = {*views_scorecards.EVENT_LABELS.values(), *views_scorecards.SIDE_LABELS.values()}
    assert used <= entries.keys()


def test_the_timeline_reads_english_for_an_english_browser(world: World, some: list[Call]) -> None:
    """Chinese first; English, the source language, for a browser that asks for it."""
    ended = next(c for c in some if c.clerk_id == world.alice.pk and c.state == Call.State.ENDED)
    client = world.client(world.alice)
    chinese = client.get(f"/calls/{ended.pk}/").content.decode()
    english = client.get(f"/calls/{ended.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    timeline = re.compile(r'<ol class="timeline">(.*?)</ol>', re.S)
    zh_items, en_items = (timeline.search(p).group(1) for p in (chinese, english))  # type: ignore[union-attr]
    assert "響鈴" in zh_items and "ringing" not in zh_items
    assert "ringing" in en_items and "響鈴" not in en_items


def test_finding_moments_and_names_follow_the_reader() -> None:
    """The engine's English carries UTC moments and staff ids; the reader's
    rendering gives the club's local time and the person's name."""
    message = "callback task on the record due 2026-12-05T02:00:00+00:00"
    assert zh(message, tz=TAIPEI) == "紀錄上已有回電待辦，期限 2026-12-05 10:00"
    assert zh("escalated to 5", names={"5": "王淑芬"}) == "已呈報給 王淑芬"
    assert zh("escalated to 5") == "已呈報給 5"
    assert zh("escalated to a superior") == "已呈報給 上級主管"


def test_titles_keep_the_sops_words_for_the_sops_numbers() -> None:
    sop = default_policy().timing
    assert rule_title("hold.max-duration", "等候不超過一分鐘", sop) == "等候不超過一分鐘"
    own = msgspec.structs.replace(sop, max_hold_s=90.0, answer_within_rings=2)
    assert rule_title("hold.max-duration", "等候不超過一分鐘", own) == "等候不超過 1 分 30 秒"
    assert rule_title("inbound.answer-promptly", "三聲內接聽", own) == "2 聲內接聽"
    assert rule_title("inbound.apologize-late-answer", "超過三聲要道歉", own) == "超過 2 聲要道歉"
    assert rule_title("close.farewell", "禮貌告辭", own) == "禮貌告辭"
    retry = msgspec.structs.replace(sop, retry_after_min_s=120.0, retry_after_max_s=240.0)
    assert rule_title("outbound.retry-after-no-answer", "3–5 分鐘後再撥", retry) == "2–4 分鐘後再撥"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "t.vtt：檔案是空的，沒有任何紀錄"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v boss>hi\n", "不認得的說話者 'boss'"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n", "請寫 <v staff> 或 <v customer>"),
        (b"WEBVTT\n\n00:00:03.000 --> 00:00:02.000\n<v staff>hi\n", "早於開始時間"),
    ],
)
def test_a_refused_transcript_is_explained_in_chinese(data: bytes, said: str) -> None:
    (refusal,) = [item for item in read_bytes("t.vtt", data) if isinstance(item, Refusal)]
    text = refusal_zh(refusal)
    assert said in text
    assert text.startswith("t.vtt")
    # Left in the file's own words: its name, what it said, the voices it may use.
    prose = re.sub(r"t\.vtt|'[^']*'|<v \w+>|\b(staff|customer|other)\b", "", text)
    assert not re.search("[A-Za-z]", prose), text
