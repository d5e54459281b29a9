"""The club's policy as a form: each number with its unit, bounds and SOP
clause, each phrase list one phrase a line, each rule's severity a choice.

Every field is checked on its own, so each wrong one gets its message beside
it; the bounds and orderings are the policy parser's own (`BOUNDS`,
`ORDERED`), so the form, a TOML import and the command line refuse alike."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callsop.policy import BOUNDS, ORDERED, SEVERITIES, Policy, PolicyError, policy_tables
from callsop.rules import CATALOGUE, SCORED

SEVERITY_LABELS = {"critical": "重大", "major": "主要", "minor": "次要"}


@dataclass(frozen=True)
class Spec:
    key: str  # the policy key, also the form field's name
    label: str
    kind: str  # number, integer, phrases, names, text, severity, rules
    unit: str = ""
    hint: str = ""


def _n(key: str, label: str, unit: str, hint: str = "", *, integer: bool = False) -> Spec:
    return Spec(key, label, "integer" if integer else "number", unit, hint)


SECTIONS: tuple[tuple[str, tuple[Spec, ...]], ...] = (
    (
        "鈴響與撥打",
        (
            _n("timing.ring_period_s", "每聲鈴響的間隔", "秒", "臺灣響 1 秒、停 2 秒，即 3 秒"),
            _n("timing.answer_within_rings", "來電須在幾聲內接聽", "聲", integer=True),
            _n("timing.give_up_rings", "去電無人接聽，幾聲後掛斷", "聲", integer=True),
            _n("timing.give_up_tolerance_rings", "掛斷時容許相差", "聲", integer=True),
            _n("timing.retry_after_min_s", "無人接聽後，最早幾秒再撥", "秒", "3 分鐘 = 180 秒"),
            _n("timing.retry_after_max_s", "無人接聽後，最晚幾秒再撥", "秒", "5 分鐘 = 300 秒"),
            _n("timing.redial_within_s", "斷線後須在幾秒內重撥", "秒"),
            _n("timing.dial_tries", "去電最多撥幾次", "次", integer=True),
        ),
    ),
    (
        "保留與通話",
        (
            _n("timing.max_hold_s", "保留上限", "秒", "一分鐘 = 60 秒"),
            _n("timing.ask_before_hold_s", "說「請稍候」後幾秒內開始保留", "秒"),
            _n("timing.ask_to_continue_after_s", "通話幾秒後詢問是否方便繼續", "秒"),
            _n("timing.max_dead_air_s", "雙方都沒出聲的上限", "秒"),
            _n("timing.talk_over_grace_s", "在對方話尾幾秒內開口不算搶話", "秒"),
            _n("timing.backchannel_max_s", "短於幾秒的「嗯」算聆聽", "秒"),
            Spec("timing.timezone", "時區", "text", hint="客訴「當日記錄」以此時區的一天計"),
        ),
    ),
    (
        "說話",
        (
            _n("speech.min_chars_per_minute", "語速下限", "字／分鐘"),
            _n("speech.max_chars_per_minute", "語速上限", "字／分鐘"),
            _n("speech.min_staff_speech_s", "人員說話達幾秒才量語速", "秒"),
            _n("speech.max_staff_share", "人員說話最多占通話的比例", "（0.7 即 70%）"),
            _n("speech.min_talk_for_share_s", "通話達幾秒才量說話比例", "秒"),
            _n("speech.min_talk_for_recap_s", "通話達幾秒須複述重點", "秒"),
            _n("speech.filler_repeats", "「對對對」連說幾次算一串", "次", integer=True),
            _n("speech.min_polite_expressions", "每通至少幾種禮貌用語", "種", integer=True),
            _n("speech.self_introduction_turns", "前幾次發言內自我介紹", "次發言", integer=True),
            _n("speech.verify_party_turns", "前幾次發言內確認對象", "次發言", integer=True),
            _n(
                "speech.apologize_unscheduled_turns",
                "前幾次發言內為打擾致歉",
                "次發言",
                integer=True,
            ),
            _n("speech.min_transfer_summary_chars", "轉接說明至少幾個字", "字", integer=True),
        ),
    ),
    (
        "本館",
        (
            Spec("club.names", "本館名稱", "names", hint="一行一個，例如 信義會館、信義館"),
            Spec(
                "club.name_suffixes", "名稱結尾", "names", hint="以此結尾的名稱算是本館（信義會館）"
            ),
            Spec("club.consult_lines", "業務專線", "names", hint="通話紀錄的線路代號"),
        ),
    ),
    (
        "比對",
        (
            _n("matching.gap_max_chars", "用語中「…」最多代表", "字", integer=True),
            _n("matching.homophone_min_chars", "同音可算的用語至少", "字", integer=True),
            _n("matching.fuzzy_min_chars", "讀音相近可算的用語至少", "字", integer=True),
            _n("matching.fuzzy_min_score", "讀音須相似到", "分（滿分 100）"),
            Spec("matching.machine_weak_rules", "機器逐字稿上不判不合格的規範", "rules"),
        ),
    ),
    (
        "權重",
        (
            _n("weights.critical", "重大規範的權重", "分"),
            _n("weights.major", "主要規範的權重", "分"),
            _n("weights.minor", "次要規範的權重", "分"),
        ),
    ),
)

PHRASE_LABELS = {
    "greeting": "問候語",
    "self_introduction": "自我介紹",
    "verify_party": "確認對象",
    "thanks": "道謝",
    "apologize_interrupt": "為打擾致歉",
    "next_contact": "約定下次聯絡",
    "late_answer_apology": "為久等致歉",
    "ask_name": "詢問姓名",
    "ask_purpose": "詢問事由",
    "purpose_given": "來電者說明事由",
    "caller_name_given": "來電者報上姓名",
    "asks_for_person": "來電者找人",
    "offer_message": "主動代為轉告",
    "ask_contact": "詢問聯絡方式",
    "visitor_callback": "告知稍後回電",
    "visitor_arrived": "有訪客到場",
    "clarify": "詢問細節",
    "hold_ask": "請對方稍候",
    "fillers": "口頭禪（連說算一串）",
    "arguing": "爭辯的說法",
    "dont_know": "不確定的說法",
    "offer_colleague": "請同事說明",
    "consent": "徵求同意",
    "agree": "對方同意",
    "refuse": "對方拒絕",
    "repeat_confirm": "複述確認",
    "recap": "複述重點",
    "ask_to_continue": "詢問是否方便繼續",
    "farewell": "結束語",
    "titles": "稱謂",
    "surnames": "常見姓氏",
}


def _clauses() -> dict[str, str]:
    found: dict[str, list[str]] = {}
    for rule in CATALOGUE:
        for option in rule.options:
            for clause in rule.clause.split(", "):
                if clause not in found.setdefault(option, []):
                    found[option].append(clause)
    return {key: "、".join(f"§{c}" for c in clauses) for key, clauses in found.items()}


CLAUSES = _clauses()
SPECS: dict[str, Spec] = {spec.key: spec for _, specs in SECTIONS for spec in specs}


def _show(value: float) -> str:
    return format(value, ".12g")


def bounds_text(spec: Spec) -> str:
    low, high = BOUNDS[spec.key]
    return f"{_show(low)}–{_show(high)}"


@dataclass
class Row:
    """One field as the template draws it."""

    spec: Spec
    value: Any
    error: str | None
    clause: str
    bounds: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.key

    @property
    def count(self) -> int:
        """How many phrases a list field holds."""
        return len(_lines(self.value)) if isinstance(self.value, str) else 0

    @property
    def dom_id(self) -> str:
        return "f-" + "".join(c if c.isalnum() else "-" for c in self.spec.key)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class PolicyForm:
    """The values as typed (or as the policy holds them) and the errors by field."""

    def __init__(self, values: dict[str, Any], polite_names: list[str]) -> None:
        self.values = values
        self.polite_names = polite_names
        self.errors: dict[str, str] = {}

    @classmethod
    def of(cls, policy: Policy) -> PolicyForm:
        tables = policy_tables(policy)
        values: dict[str, Any] = {}
        for key, spec in SPECS.items():
            table, _, name = key.partition(".")
            value = tables[table][name]
            if spec.kind in ("number", "integer"):
                values[key] = _show(value)
            elif spec.kind == "names":
                values[key] = "\n".join(value)
            else:
                values[key] = value
        for name, words in tables["phrases"].items():
            if name == "polite":
                for expression, variants in words.items():
                    values[f"phrases.polite.{expression}"] = "\n".join(variants)
            else:
                values[f"phrases.{name}"] = "\n".join(words)
        for rule_id, severity in tables["severity"].items():
            values[f"severity.{rule_id}"] = severity
        return cls(values, list(tables["phrases"]["polite"]))

    @classmethod
    def posted(cls, data: Any, policy: Policy) -> PolicyForm:
        """The form as sent; `policy` says which fields there are."""
        form = cls.of(policy)
        for key in form.values:
            if SPECS.get(key) and SPECS[key].kind == "rules":
                form.values[key] = [str(v) for v in data.getlist(key)]
            else:
                form.values[key] = str(data.get(key, ""))
        return form

    # Reading the fields -------------------------------------------------

    def tables(self) -> dict[str, dict[str, Any]] | None:
        """The policy's tables from the fields, or None with `errors` filled in."""
        self.errors = {}
        tables: dict[str, dict[str, Any]] = {t: {} for t in ("timing", "speech", "club")}
        tables |= {"matching": {}, "weights": {}, "phrases": {}, "severity": {}}
        for key, spec in SPECS.items():
            table, _, name = key.partition(".")
            value = self._read(spec, self.values[key])
            if value is not None:
                tables[table][name] = value
        polite: dict[str, list[str]] = {}
        for key, raw in self.values.items():
            if key.startswith("phrases.polite."):
                polite[key.removeprefix("phrases.polite.")] = self._phrases(key, raw)
            elif key.startswith("phrases."):
                tables["phrases"][key.removeprefix("phrases.")] = self._phrases(key, raw)
            elif key.startswith("severity."):
                if raw in SEVERITIES:
                    tables["severity"][key.removeprefix("severity.")] = raw
                else:
                    self.errors[key] = "請選擇重大、主要或次要"
        tables["phrases"]["polite"] = polite
        self._cross_checks(tables)
        return None if self.errors else tables

    def _read(self, spec: Spec, raw: Any) -> Any:
        if spec.kind in ("number", "integer"):
            return self._number(spec, str(raw).strip())
        if spec.kind == "names":
            return self._phrases(spec.key, str(raw), may_be_empty=True)
        if spec.kind == "rules":
            scored = {rule.id for rule in SCORED}
            wrong = [r for r in raw if r not in scored]
            if wrong:
                self.errors[spec.key] = f"「{wrong[0]}」不是計分的規範"
                return None
            return list(raw)
        text = str(raw).strip()
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            self.errors[spec.key] = f"找不到時區「{text}」，例如 Asia/Taipei"
            return None
        return text

    def _number(self, spec: Spec, raw: str) -> float | int | None:
        if not raw:
            self.errors[spec.key] = "請填寫數字"
            return None
        try:
            number = float(raw)
        except ValueError:
            self.errors[spec.key] = f"「{raw}」不是數字"
            return None
        if not math.isfinite(number):
            self.errors[spec.key] = "須是一般的數字，不可是 NaN 或無限大"
            return None
        low, high = BOUNDS[spec.key]
        if not low <= number <= high:
            self.errors[spec.key] = f"須介於 {_show(low)} 與 {_show(high)} {spec.unit}之間"
            return None
        if spec.kind == "integer":
            if not number.is_integer():
                self.errors[spec.key] = "須是整數"
                return None
            return int(number)
        return number

    def _phrases(self, key: str, raw: str, *, may_be_empty: bool = False) -> list[str]:
        from callsop.text import compile_phrase

        phrases = _lines(raw)
        if not phrases and not may_be_empty:
            self.errors[key] = "至少要有一句用語"
        for phrase in phrases:
            try:
                compile_phrase(phrase)
            except ValueError:
                self.errors[key] = f"「{phrase}」沒有文字"
                break
        return phrases

    def _cross_checks(self, tables: Mapping[str, Mapping[str, Any]]) -> None:
        def value(key: str) -> Any:
            table, _, name = key.partition(".")
            return tables[table].get(name)

        for smaller, larger, may_equal in ORDERED:
            low, high = value(smaller), value(larger)
            if smaller in self.errors or low is None or high is None:
                continue
            if not (low < high or (may_equal and low == high)):
                words = "不可大於" if may_equal else "須小於"
                self.errors[smaller] = (
                    f"{words}「{SPECS[larger].label}」（{_show(high)} {SPECS[larger].unit}）"
                )
        club = tables["club"]
        if (
            "club.names" not in self.errors
            and not club.get("names")
            and not club.get("name_suffixes")
        ):
            self.errors["club.names"] = "本館名稱與名稱結尾至少要填一項"
        least = value("speech.min_polite_expressions")
        expressions = len(tables["phrases"].get("polite") or {})
        if least is not None and least > expressions:
            self.errors["speech.min_polite_expressions"] = (
                f"不可多於禮貌用語的數目（{expressions} 種）"
            )

    def blame(self, exc: PolicyError) -> None:
        """The parser refused what the fields passed: its message beside the key."""
        key = exc.key or ""
        target = (
            key
            if key in self.values
            else next((k for k in self.values if key.startswith(k)), "form")
        )
        self.errors[target] = f"設定有誤：{exc}"

    # Drawing the fields -------------------------------------------------

    def sections(self) -> list[tuple[str, list[Row]]]:
        drawn: list[tuple[str, list[Row]]] = []
        for title, specs in SECTIONS:
            rows = []
            for spec in specs:
                row = self._row(spec)
                if spec.kind == "rules":
                    row.choices = [(r.id, r.title) for r in SCORED]
                rows.append(row)
            drawn.append((title, rows))
        return drawn

    def _row(self, spec: Spec) -> Row:
        bounds = bounds_text(spec) if spec.key in BOUNDS else ""
        return Row(
            spec,
            self.values[spec.key],
            self.errors.get(spec.key),
            CLAUSES.get(spec.key, ""),
            bounds,
        )

    def phrase_rows(self) -> list[Row]:
        rows = []
        for key in self.values:
            if key.startswith("phrases.") and not key.startswith("phrases.polite."):
                name = key.removeprefix("phrases.")
                spec = Spec(key, PHRASE_LABELS.get(name, name), "phrases")
                rows.append(self._row(spec))
        return rows

    def polite_rows(self) -> list[Row]:
        clause = CLAUSES.get("phrases.polite", "§7")
        return [
            Row(
                Spec(f"phrases.polite.{name}", name, "phrases"),
                self.values[f"phrases.polite.{name}"],
                self.errors.get(f"phrases.polite.{name}"),
                clause,
            )
            for name in self.polite_names
        ]

    def phrase_groups(self) -> list[tuple[str, str, list[Row]]]:
        return [
            ("", "", self.phrase_rows()),
            ("禮貌用語", "每個用語下，列出算作該用語的說法。", self.polite_rows()),
        ]

    def severity_rows(self) -> list[Row]:
        choices = [(s, SEVERITY_LABELS[s]) for s in SEVERITIES]
        rows = []
        for rule in SCORED:
            key = f"severity.{rule.id}"
            spec = Spec(key, rule.title, "severity", hint=rule.id)
            rows.append(
                Row(
                    spec,
                    self.values.get(key),
                    self.errors.get(key),
                    f"§{rule.clause}",
                    choices=choices,
                )
            )
        return rows
