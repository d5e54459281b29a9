"""The rule catalogue as a list, and one rule's page."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from callsop.engine import score
from callsop.policy import Policy
from callsop.record.model import Utterance
from callsop.report.table import VERDICT_ZH, format_evidence
from callsop.rules import CATALOGUE, Rule
from callsop.rules.examples import Example, examples_for

SPEAKER_ZH = {"staff": "館員", "customer": "客戶", "other": "他人"}
SEVERITY_ZH = {"critical": "重大", "major": "主要", "minor": "次要"}
SOURCE_ZH = {
    "events": "通話事件",
    "speech": "對話內容",
    "record": "通話紀錄",
    "history": "通話歷史",
    "guide": "僅供指引",
}


def print_catalogue(console: Console, policy: Policy) -> None:
    table = Table(header_style="bold", box=None, padding=(0, 1))
    table.add_column("規則代號", style="cyan", no_wrap=True)
    table.add_column("條文", no_wrap=True)
    table.add_column("名稱")
    table.add_column("依據")
    table.add_column("權重")
    for rule in CATALOGUE:
        severity = "指引" if rule.guide else SEVERITY_ZH[policy.severity[rule.id]]
        table.add_row(
            rule.id,
            f"§{rule.clause}",
            rule.title,
            "、".join(SOURCE_ZH[s] for s in rule.sources),
            severity,
        )
    console.print(table)
    console.print(f"共 {len(CATALOGUE)} 條規則。查看一條：callsop rules <規則代號>", style="dim")


def option_value(policy: Policy, key: str) -> Any:
    section, _, name = key.partition(".")
    if section == "phrases":
        return policy.polite if name == "polite" else policy.phrases[name]
    return getattr(getattr(policy, section), name)


def _show_value(value: Any) -> str:
    if isinstance(value, dict):
        return "；".join(f"{k}（{'／'.join(v)}）" for k, v in value.items())
    if isinstance(value, tuple | list):
        return "／".join(map(str, value)) if value else "（無）"
    return str(value)


def print_rule(console: Console, rule: Rule, policy: Policy) -> None:
    console.print(Text.assemble((rule.title, "bold"), "  ", (rule.id, "cyan"), f"  §{rule.clause}"))
    console.print()
    rows = [
        ("依據", "、".join(SOURCE_ZH[s] for s in rule.sources), ""),
        ("適用", rule.applies_zh, rule.applies),
        ("通過條件", rule.checks_zh, rule.checks),
        ("SOP 原文", rule.why, ""),
        ("權重", "指引（不計分）" if rule.guide else SEVERITY_ZH[policy.severity[rule.id]], ""),
    ]
    for label, value, english in rows:
        console.print(Text.assemble((f"{label}：", "bold"), value))
        if english:
            console.print(Text(f"    {english}", style="dim"))
    if rule.options:
        console.print(Text("設定（policy）：", style="bold"))
        for key in rule.options:
            console.print(f"  {key} = {_show_value(option_value(policy, key))}")
    examples = examples_for(rule.id)
    if examples:
        console.print(Text("範例：", style="bold"))
        for example in examples:
            _print_example(console, example, policy)


def _print_example(console: Console, example: Example, policy: Policy) -> None:
    card = score(list(example.calls), policy)[0]
    finding = next(f for f in card.findings if f.rule == example.rule)
    style = "green" if finding.verdict == "pass" else "red" if finding.verdict == "fail" else "dim"
    console.print(
        Text.assemble(
            "  ",
            (f"[{VERDICT_ZH[finding.verdict]}]", style),
            f" {example.title}  — {finding.message}",
        )
    )
    call = example.call
    lines: list[tuple[float, int, Text]] = []
    for event in call.events:
        extra = f" by {event.by}" if event.by else ""
        extra += f" → {event.to}" if event.to else ""
        extra += f"「{event.summary}」" if event.summary else ""
        lines.append(
            (event.t, 0, Text(f"      {event.t:>6g}s  [{event.type}{extra}]", style="dim"))
        )
    for utterance in call.utterances:
        words = utterance.text or _voice_only(utterance)
        said = f"      {utterance.start:>6g}s  {SPEAKER_ZH[utterance.speaker]}：{words}"
        lines.append((utterance.start, 1, Text(said)))
    for _, _, line in sorted(lines, key=lambda item: (item[0], item[1])):
        console.print(line)
    if finding.evidence:
        console.print(f"      證據：{format_evidence(finding.evidence)}", style="dim")


def _voice_only(utterance: Utterance) -> str:
    """A turn heard as voice alone: how long it was and how many syllables."""
    length = f"說話 {utterance.end - utterance.start:.1f} 秒"
    if utterance.syllables is not None:
        length += f"，約 {utterance.syllables} 音節"
    return f"（{length}，無文字）"
