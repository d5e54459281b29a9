"""A readable zh-Hant summary of scorecards for a terminal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from callsop.engine.findings import Evidence, Scorecard
from callsop.report.messages_zh import zh
from callsop.rules import RULES_BY_ID

VERDICT_ZH = {"pass": "通過", "fail": "未通過", "na": "不適用"}
# What a verdict rests on when no person transcribed the call.
BASIS_ZH = {"machine": "依機器轉寫", "voice": "依錄音聲音判斷"}
_STYLE = {"pass": "green", "fail": "bold red", "na": "dim"}


def format_evidence(evidence: Sequence[Evidence]) -> str:
    parts = []
    for item in evidence:
        if "utterance" in item:
            words = item.get("words")  # none from a recording heard as voice alone
            said = f"「{words}」" if words else ""
            parts.append(f"#{item['utterance']} {item['t']:g}s{said}")
        elif "t" in item:
            parts.append(f"{item['t']:g}s")
        elif "call" in item:
            parts.append(f"→ {item['call']} {item.get('at', '')}".rstrip())
        elif "field" in item:
            parts.append(f"[{item['field']}]")
        else:
            parts.append(", ".join(f"{k}={v}" for k, v in item.items()))
    return "; ".join(parts)


def _score_text(value: float | None) -> Text:
    if value is None:
        return Text("—", style="dim")
    style = "green" if value >= 85 else "yellow" if value >= 60 else "bold red"
    return Text(f"{value:.1f}", style=style)


def print_scorecards(console: Console, cards: Sequence[Scorecard]) -> None:
    """Each call's score, then each failed rule: its name, id and clause,
    what was observed against the limit, and the evidence."""
    failures: Counter[str] = Counter()
    for card in cards:
        counts = Counter(f.verdict for f in card.findings)
        console.print(
            Text.assemble(
                ("通話 ", "bold"),
                (card.call, "bold cyan"),
                "  分數 ",
                _score_text(card.score),
                f"  （通過 {counts['pass']}・未通過 {counts['fail']}・不適用 {counts['na']}）",
            )
        )
        failed = [f for f in card.findings if f.verdict == "fail"]
        if not failed:
            console.print("  全部適用規則皆通過。", style="green")
        for f in failed:
            failures[f.rule] += 1
            rule = RULES_BY_ID[f.rule]
            console.print(
                Text.assemble(
                    ("  ✗ ", "bold red"),
                    (rule.title, "bold"),
                    f"  {f.rule}  ",
                    (f"§{f.clause}", "dim"),
                    (f"  （{BASIS_ZH[f.basis]}）" if f.basis else "", "yellow"),
                )
            )
            console.print(Text(f"    {zh(f.message)}", style="red"))
            if f.evidence:
                console.print(Text(f"    證據：{format_evidence(f.evidence)}", style="dim"))
        console.print()
    if len(cards) > 1:
        _print_batch(console, cards, failures)


def _print_batch(console: Console, cards: Sequence[Scorecard], failures: Counter[str]) -> None:
    scored = [c.score for c in cards if c.score is not None]
    mean = sum(scored) / len(scored) if scored else None
    console.print(
        Text.assemble(
            ("合計 ", "bold"),
            f"{len(cards)} 通通話，平均分數 ",
            _score_text(mean),
        )
    )
    if failures:
        table = Table(title="最常未通過的規則", box=None, header_style="bold", padding=(0, 1))
        table.add_column("規則")
        table.add_column("條文", no_wrap=True)
        table.add_column("未通過", justify="right")
        for rule_id, count in failures.most_common(10):
            rule = RULES_BY_ID[rule_id]
            table.add_row(f"{rule.title}（{rule_id}）", f"§{rule.clause}", str(count))
        console.print(table)
