"""What a turn of speech does, as a careful listener hears it: asks, takes
leave, pushes back, sums up, puts the caller on hold.

Speech recognisers rarely punctuate and write either script, so nothing here
relies on punctuation: every pattern is matched on a turn's plain form
(`Transcript.norms`). The patterns are written in Simplified and compiled
to match either script (each character with its Traditional forms, from
OpenCC, once at import), so a call's text is never converted: converting
cost more than all the patterns together. The policy's phrase lists stay one signal among these; the
patterns below are what a phrase list cannot say (a question made by 有沒有
or a final 嗎, a leave-taking wish, a restatement of what the call
established).
"""

from __future__ import annotations

import json
import operator
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import daachorse

from callsop.engine.transcript import Transcript
from callsop.text import SEP, converter, mark_words

# Each CJK character's forms in either script (周 -> 周週, 么 -> 么麼麽), as
# OpenCC gives them: shipped as a table, since loading the four OpenCC
# converters that make it took most of a scoring run's start-up.
# scripts/write-script-forms writes it again (after an OpenCC upgrade:
# tests/test_speech_acts.py says when it no longer matches).
FORMS_TABLE = Path(__file__).with_name("script_forms.json")
_FORM_CONVERTERS = ("s2t", "s2tw", "s2hk", "t2s")
_CJK = range(0x4E00, 0xA000)


def _load_forms() -> dict[str, str]:
    try:
        with FORMS_TABLE.open(encoding="utf-8") as f:
            table: dict[str, str] = json.load(f)
    except FileNotFoundError:  # not written yet: the same table, slower
        return forms_from_opencc()
    return table


def forms_from_opencc() -> dict[str, str]:
    """The forms table, worked out from OpenCC: each character with more
    than one form -> the character and its other forms, itself first."""
    converters = [converter(c) for c in _FORM_CONVERTERS]
    chars = [chr(c) for c in _CJK]
    # Simplified character -> every Traditional one that converts to it
    # (周 <- 週, which converting 周 itself never gives).
    traditional_of: dict[str, str] = {}
    converted = converters[-1].convert("\n".join(chars)).split("\n")
    if len(converted) == len(chars):
        for char, simple in zip(chars, converted, strict=True):
            if simple != char and len(simple) == 1:
                traditional_of[simple] = traditional_of.get(simple, "") + char
    table = {}
    for char in chars:
        forms = dict.fromkeys([char, *(c.convert(char) for c in converters)])
        forms.update(dict.fromkeys(traditional_of.get(char, "")))
        kept = "".join(f for f in forms if len(f) == 1)
        if len(kept) > 1:
            table[char] = kept
    return table


_FORMS = _load_forms()


def _forms(char: str) -> str:
    """`char` and its forms in the other script: 么 -> 么麼麽, 周 -> 周週."""
    return _FORMS.get(char, char)


def both_scripts(pattern: str) -> re.Pattern[str]:
    """`pattern`, written in Simplified, compiled to match either script: a
    character outside a class becomes the class of its forms, one inside a
    class brings its forms in. Escapes are kept as they are."""
    out = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "[" and not in_class:
            in_class = True
            out.append(char)
        elif char == "]" and in_class:
            in_class = False
            out.append(char)
        elif "\u4e00" <= char <= "\u9fff" and len(forms := _forms(char)) > 1:
            out.append(forms if in_class else f"[{forms}]")
        else:
            out.append(char)
    return re.compile("".join(out))


def _every_form(words: str) -> set[str]:
    """The strings `words` reads as in either script, character by character."""
    found = {""}
    for char in words:
        found = {head + f for head in found for f in _forms(char)}
    return found


class Gate:
    """Words one of which every match of a pattern holds, found in either
    script: the pattern then runs only on the turns that hold one (most
    calls hold none). The words are found by the transcript's one shared
    scan (they are registered with `mark_words`)."""

    def __init__(self, words: str) -> None:
        self.forms = sorted({f for w in words.split() for f in _every_form(w)})
        self.number = mark_words(self.forms)
        self._automaton: daachorse.CharwiseDoubleArrayAhoCorasick | None = None

    def turns(self, t: Transcript) -> list[int]:
        """The utterances that hold one of the words, in text order."""
        found = t.marked(self.number)
        if found is not None:
            return found
        # A policy compiled before this gate was made: the gate looks itself.
        if self._automaton is None:
            self._automaton = daachorse.CharwiseDoubleArrayAhoCorasick(self.forms)
        return list(dict.fromkeys(t.turn_at(at) for at, _, _ in self._automaton.find(t.joined)))


# -- questions ---------------------------------------------------------------

# The stock offers that open and close a call: asking whether there is
# anything else to help with is no question about what the caller said.
_STOCK_OFFER = both_scripts(
    "(?:请问)?(?:您|你)?还有(?:没有|什么|其他|其它|别的|没)?(?:的)?"
    "(?:什么|其他|其它|别的)?(?:地方|问题|事情|事|需要)?"
    "(?:可以|能|需要|要)?(?:我|我们)?(?:帮|为|协助|服务|效劳|吩咐|问)"
    "[^吗呢]{0,8}(?:吗|呢|么)?"
    "|(?:请问)?(?:您|你)?还有(?:没有)?(?:其他|其它|别的|什么)(?:的)?(?:问题|事情|事|需要)(?:吗|呢)?"
    "|(?:请问)?(?:有)?什么(?:可以|能|需要)(?:我|我们)?(?:帮|为|协助|服务)[^吗呢]{0,6}(?:吗|呢)?"
)

# A question word; the lookarounds keep out the words that hold one without
# asking (没什么, 什么都, 几乎, 好几, 哪里哪里, 怎么说呢).
_QUESTION_WORD = both_scripts(
    "(?<![没不])什么(?![都也])|为什么|为何|怎么(?!说呢)|怎样|如何|多少|多久|多长|多大"
    "|(?<!好)几(?:点|号|位|个|天|次|月|岁|楼|张|堂|分|年|周|礼拜|星期)"
    "|哪(?:里|边|儿|个|位|天|一|些|家|种|间|堂|时)(?!哪)|谁"
    # an alternative question: 是男教练还是女教练, 要上午还是下午
    "|(?:是|要|想|选|用|在)[^还是]{1,12}还是"
)
# A-not-A: 有没有, 是不是, 要不要, 可不可以, 会不会, 能不能, 对不对.
_A_NOT_A = both_scripts(r"([^\W\d_不没一])[不没]\1")
# 齁 ends a question that asks to confirm in Taiwan (您是说昨天那堂齁).
_PARTICLE = both_scripts("吗|呢$|么$|齁$|是否|有无|(?:是|对|有|应该|会|没)[^我吧]{0,10}吧$")
# Asking the caller's leave for what staff proposes (我帮您登记好吗, 这样可以吗)
# is no clarifying question; 您可以再说一次吗 is (吗 after the request).
_CONSENT = both_scripts("(?:好|可以|行|方便|ok)(?:吗|不好|不可以|不行|不方便)|好不好|可不可以$")
# Nor is asking for a way to call back (方便留个电话吗): it asks nothing of
# what the caller said.
_CONTACT = both_scripts(
    "(?:请问)?(?:方便|可以|能|麻烦)?(?:您|你)?(?:留|给|告诉)(?:我|我们)?(?:一下|个|一个)?"
    "(?:您|你)?(?:的)?(?:联络|联系)?(?:电话|手机|号码|方式)(?:号码)?(?:吗|呢|好吗)?"
)


@dataclass(frozen=True, slots=True)
class Cue:
    """Where a pattern was found in a turn's plain form, and what it was."""

    start: int
    end: int
    kind: str


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


# Asking oneself to answer at once (我们会怎么处理呢 我们会先退费) asks the
# caller nothing; "what do you want then" (那你要怎样) is a retort.
_SELF_ASKED = both_scripts(
    "我们?(?:这边)?(?:会|要|该|能|可以)?(?:怎么|如何)(?:处理|做|办|帮)(?:呢)?"
)
_RETORT = both_scripts("(?:那|不然)?(?:你|您)(?:到底)?(?:是)?(?:要|想)(?:怎样|怎么样|干嘛|干什么)")


def _without_offers(text: str) -> str:
    # Keep positions: blank the offer out rather than cut it.
    for pattern in (_STOCK_OFFER, _SELF_ASKED, _RETORT):
        text = pattern.sub(_blank, text)
    return text


def in_stock_offer(text: str, start: int, end: int) -> bool:
    """Whether chars [start, end) of a turn (its plain form, either script) lie in a
    stock offer (请问还有其他可以帮您的吗)."""
    return any(m.start() <= start and end <= m.end() for m in _STOCK_OFFER.finditer(text))


def question_cue(text: str, original: str = "") -> Cue | None:
    """The first sign that a turn (its plain form, either script) asks something, the
    stock offers (还有其他可以帮您的吗) left out. `original` is the turn as
    written: a question mark there counts too."""
    text = _without_offers(text)
    if not text.strip():
        return None
    best: Cue | None = None
    for kind, pattern in (
        ("question word", _QUESTION_WORD),
        ("a-not-a", _A_NOT_A),
        ("particle", _PARTICLE),
    ):
        for match in pattern.finditer(text):
            if match.group(0) == " ":
                continue
            if best is None or match.start() < best.start:
                best = Cue(match.start(), match.end(), kind)
            break
    marked = original.rstrip().endswith(("?", "？"))
    if best is None and marked and _STOCK_OFFER.search(original) is None:
        return Cue(0, len(text), "question mark")
    return best


def clarifying_cue(text: str, original: str = "") -> Cue | None:
    """A question that asks the caller something: not a stock offer, and
    not only the caller's leave for what staff proposes (我帮您登记好吗)."""
    if question_cue(text, original) is None:
        return None
    kept = _CONTACT.sub(_blank, _CONSENT.sub(_blank, text))
    if kept == text:
        return question_cue(text, original)
    return question_cue(kept)


def clarifying_question(t: Transcript, turns: Iterable[int]) -> tuple[int, Cue] | None:
    """The first turn of `turns` (in the order given) that asks to clarify: a
    turn that pushes back (是你自己没看吧) asks nothing, whatever its particle."""
    arguing = {hit.utterance for hit in t.find("arguing")}
    for index in turns:
        if index in arguing or _PUSHBACK.search(t.norms[index]):
            continue
        cue = clarifying_cue(t.norms[index], t.texts[index])
        if cue is not None:
            return index, cue
    return None


# -- leave-taking --------------------------------------------------------------

_FAREWELL = both_scripts(
    "再见|再会|拜拜|掰(?!开)|bye|下次见|回头见|改天见|周.见|礼拜.见|星期.见|明天见|晚安"
    "|到时候?见|待会儿?见|等一下见|晚点见|一会儿?见|待会儿?聊|回头聊|改天聊|再聊$"
    "|祝(?:您|你)[^祝]{0,12}(?:愉快|顺心|平安|顺利|健康|开心|快乐|如意|满意|好运|美好)"
    # a wish the recogniser cut at the turn's end (祝您周末愉)
    "|祝(?:您|你)[^祝]{1,12}$"
    "|期待(?:再|下次|下回|您|你)[^期]{0,6}(?:服务|光临|来|见|联系)"
    "|欢迎(?:您|你)?(?:再|下次|随时|有空)[^欢]{0,6}(?:来|打|联系|光临|过来)"
    "|(?:谢谢|感谢|多谢)(?:您|你)?(?:的来电|来电)?(?:unk)*(?:再|在)?(?:unk)*见$"
    "|(?:谢谢|感谢|多谢)(?:您|你)?(?:的来电|来电)?(?:unk)*(?:再|在)(?:unk)*$"
)
# A recogniser cuts 再见 at a segment boundary: «感谢_见», or 再 ends one
# segment and 见 starts the next. A last turn that is only 见 (or ends on
# 谢谢再 / 感谢在) is that cut.
_CUT_GOODBYE_HEAD = both_scripts("(?:谢谢|感谢|多谢|好的|好)(?:您|你)?(?:再|在)(?:unk)*$")
_CUT_GOODBYE_TAIL = both_scripts("^见")


def farewell_cue(text: str, previous: str = "", following: str = "") -> Cue | None:
    """Leave-taking in a turn (its plain form, either script): 再见 and its variants,
    a wish (祝您生活愉快, 祝您和家人平安顺心), an invitation to come again
    (期待再为您服务, 欢迎再来), or 再见 cut at a segment boundary
    (`previous` / `following`: the neighbouring segments of the same speaker)."""
    match = _FAREWELL.search(text)
    if match is not None:
        return Cue(match.start(), match.end(), "farewell")
    if _CUT_GOODBYE_TAIL.match(text) and len(text) <= 3 and previous:
        return Cue(0, 1, "cut goodbye")
    if following and _CUT_GOODBYE_HEAD.search(text) and _CUT_GOODBYE_TAIL.match(following):
        at = _CUT_GOODBYE_HEAD.search(text)
        assert at is not None
        return Cue(at.start(), at.end(), "cut goodbye")
    return None


# -- pushing back ----------------------------------------------------------------

# Contradicting or pushing back at a caller, beyond the policy's list: each
# one tells the caller they are wrong or that the matter is closed.
_PUSHBACK = both_scripts(
    "(?:刚才|刚刚|之前|已经|都)(?:已经|都)?(?:跟|和|给)?(?:你|您)?(?:说|讲|解释)(?:过|了)"
    "(?:很多次|好几次|几次|好多次|一遍|两遍)?了?"
    "|(?:不是|我不是)(?:已经|都)?(?:跟|和)(?:你|您)(?:说|讲)(?:过|了)"
    "|(?:但是|可是|不过)我们(?:这边|系统)?(?:确实|真的|的确|就是|根本|明明)?"
    "(?:没有|没)(?:看到|收到|查到|记录|纪录|这笔|这个)"
    "|(?:我们)?(?:查不到|找不到|看不到)(?:的话)?(?:就|也)?(?:没办法|没有办法|不能|无法)"
    "|(?:规定|规则)(?:就是|本来就)(?:这样|这么)|这是规定"
    "|(?:你|您)(?:一定|应该)?是?(?:记错|听错|看错|弄错|误会)了?"
    "|不是这样(?:的|子)?(?:啦|喔|哦)?$|没(?:有)?(?:这|那)(?:回|种)事|不会有(?:这|那)种事"
    "|我们(?:系统|这边)?(?:不会|不可能)(?:这样|重复|多扣|乱扣|弄错|搞错)|(?:怎么|哪)可能|(?:不能|别)怪我们"
    "|(?:你|您)(?:到底)?有没有在听|(?:你|您)(?:先)?听我(?:说|讲|解释)"
    "|(?:那|不然)?(?:你|您)(?:到底)?(?:是)?(?:要|想)(?:怎样|怎么样|干嘛|干什么)|(?:你|您)(?:要我|要)(?:说|讲)几(?:次|遍)"
    "|(?:那|这)是(?:你|您)(?:自己|们自己)(?:的)?(?:问题|事)|自己(?:要|得|应该|没有|没)(?:先)?(?:看|注意|听|读|确认)"
    # blaming the caller for what happened: 是您当时自己没有来办, 您下次早一点来就不会这样了
    "|(?<!不)是(?:你|您)(?:当时|那时候?|之前|自己)+(?:没有|没|不)"
    "|(?:应该|一定|肯定)是(?:你|您)(?:自己)?(?:没有|没|忘了|忘记|按错|弄错|搞错)"
    "|(?:你|您)(?:下次)?(?:早一?点|早点儿?|提早)(?:来|到|说|讲|办)?就不会"
    # dismissing what the caller was told or asks: 电话讲的不算, 您不觉得这样要求有点过分吗
    "|(?:电话|口头)(?:上)?(?:讲|说|答应)的(?:都)?(?:不算|没用|不准)"
    "|(?:你|您)不觉得[^，。,.]{0,14}(?:过分|夸张|离谱|无理|太超过)"
)
# What an upset or disputing caller says (不会吧 我上个月就改过了); the weak
# pushback patterns above only count against such a caller (or a complaint call).
_UPSET = both_scripts(
    "怎么(?:会|可能|这样|搞|回事)|夸张|过分|很扯|太扯|太差|离谱|搞什么|什么意思|凭什么|不会吧"
    "|不满|投诉|客诉|抱怨|生气|气死|很烂|烂|骗|退费|退钱|找(?:你们)?(?:主管|经理|负责人)"
    "|不合理|明明|到底|一直(?:没|都没|打不)|根本|受不了|算了|不行吗|乱"
)


# A caller complaining, in words a complaint is made with: §2.3(7)'s
# "unhappy or complains", heard when the desk did not tag the call.
_COMPLAINING = Gate(
    "投诉 客诉 抱怨 我要反映 我要反应 想反映 想反应 想要反映 想要反应 要跟你们反映 要跟你们反应"
    " 不满 很扯 太扯 离谱 太过分 很过分 太差 很烂 太烂 搞什么 凭什么 受不了 气死 很生气 不高兴 不合理"
)


def complaint_heard(t: Transcript) -> int | None:
    """The first customer turn that complains (我要反映一下, 很扯欸, 我要投诉), if any."""
    speakers, place = t.speakers, t.position
    heard = [i for i in _COMPLAINING.turns(t) if speakers[i] == "customer"]
    return min(heard, key=place.__getitem__) if heard else None


def pushback_cue(text: str) -> Cue | None:
    match = _PUSHBACK.search(text)
    return None if match is None else Cue(match.start(), match.end(), "pushback")


def upset(text: str) -> bool:
    return _UPSET.search(text) is not None


_PUSHBACK_GATE = Gate(
    "说过 说了 讲过 讲了 解释过 解释了 但是我们 可是我们 不过我们 查不到 找不到 看不到 规定 规则 "
    "记错 听错 看错 弄错 误会 不是这样 么可能 哪可能 怪我们 在听 几次 几遍 你自己 您自己 们自己 自己要 自己得 自己应该 自己没 "
    "回事 种事 听我 怎样 怎么样 干嘛 干什么 不算 没用 不准 不觉得 就不会 您当时 你当时 您那时 你那时 您之前 你之前 应该是 一定是 肯定是 会这样 会重复 会多扣 会乱扣 会弄错 会搞错 能这样 能重复 能多扣 能乱扣 能弄错 能搞错"
)
_UPSET_GATE = Gate(
    "怎么 夸张 过分 很扯 太扯 太差 离谱 搞什么 什么意思 凭什么 不会吧 不满 投诉 客诉 抱怨 生气 气死 "
    "烂 骗 退费 退钱 主管 经理 负责人 不合理 明明 到底 一直 根本 受不了 算了 不行吗 乱"
)


def pushback(t: Transcript, complaint: bool) -> tuple[int, Cue] | None:
    """The first staff turn that pushes back at an upset caller: after a
    customer turn that sounds upset, or anywhere in a complaint call."""
    pushing = [i for i in _PUSHBACK_GATE.turns(t) if t.speakers[i] == "staff"]
    if not pushing:  # the usual call: nothing to look at
        return None
    since = -1.0  # the time from which the caller sounds upset
    if not complaint:
        upset_at = [
            t.begins[i]
            for i in _UPSET_GATE.turns(t)
            if t.speakers[i] == "customer" and upset(t.norms[i])
        ]
        if not upset_at:
            return None
        since = min(upset_at)
    place = t.position
    for index in sorted(pushing, key=place.__getitem__):
        if t.begins[index] > since:
            cue = pushback_cue(t.norms[index])
            if cue is not None:
                return index, cue
    return None


# -- recaps ----------------------------------------------------------------------

# Words that lead into a restatement: one signal of a recap, with its content.
_RECAP_MARKER = both_scripts(
    "也就是说|也就是|那就是|就是因为|所以(?:您|你)?(?:是|的意思|就是|这边)|简单(?:来)?说|总(?:之|的来说|结)"
    "|(?:跟|和|帮|给)(?:您|你)(?:确认|整理|重复|复述|总结|说明一下)|整理一下|重复一下|确认一下"
    "|我(?:再|这边)?(?:重复|复述|总结)|事情是这样|我们(?:刚才|刚刚)(?:说|讲|谈)的"
)
# Characters that carry no content on their own: a pair of them is no key term.
_LIGHT = frozenset(
    "的了是我你您他她它们这那个就也都在有和跟吗呢吧啊喔哦嗯噢呃诶欸好对一下不要会可以说然后后还再很太把给被让为"
    "从到上去来过着得地里么什没能想看知道现时候样吧啦嘛呀哈请问谢感抱歉麻烦帮忙处理服务边部分问题已经刚才"
)
_STOCK_PAIRS = frozenset(
    [
        "您好",
        "你好",
        "谢谢",
        "感谢",
        "不好",
        "意思",
        "没有",
        "可以",
        "一下",
        "这个",
        "那个",
        "就是",
        "我们",
        "你们",
        "现在",
        "时候",
        "这样",
        "知道",
        "然后",
        "因为",
        "所以",
        "如果",
        "的话",
        "帮您",
        "帮你",
        "请问",
        "再见",
        "拜拜",
        "愉快",
        "生活",
        "来电",
        "不客",
        "客气",
    ]
)


# Every form of a stock pair, and every pair of two light characters in
# either script (the forms of a pair are its characters' forms, paired).
_LIGHT_FORMS = frozenset(f for c in _LIGHT for f in _forms(c))
_NO_TERMS = frozenset(
    {pair for words in _STOCK_PAIRS for pair in _every_form(words)}
    | {a + b for a in _LIGHT_FORMS for b in _LIGHT_FORMS}
)


# A word in Latin letters (pdf, app), or a run of digits or numerals (a
# phone number, 兩千四): one term each, not their characters' pairs.
_WORD = re.compile("[a-z]+|[0-9零〇一二三四五六七八九十百千万萬两兩]{2,}")


def _pairs(text: str) -> set[str]:
    """The key-term candidates of a turn: its pairs of characters, less the
    stock ones and those of two light characters. A word in Latin letters
    and a number are one term each: a number read back is one thing restated,
    not ten (零九三六二四一八一九)."""
    if not _WORD.search(text):
        return set(map(operator.add, text, text[1:])) - _NO_TERMS
    words = set()
    for part in _WORD.split(text):
        words |= set(map(operator.add, part, part[1:]))
    words |= {w for w in _WORD.findall(text) if len(w) > 1}
    return words - _NO_TERMS


@dataclass(frozen=True, slots=True)
class Recap:
    turn: int
    terms: tuple[str, ...]  # key terms of the call the turn restates
    sources: int  # how many earlier turns they come from
    marker: str  # the lead-in words, or ""


# A restatement: this many key terms, from this many earlier turns (an
# answer to one question restates that question alone), in a turn of this
# many characters at least.
RECAP_MIN_TERMS = 4
RECAP_MIN_TERMS_MARKED = 2
RECAP_MIN_SOURCES = 2
RECAP_MIN_CHARS = 12
# Most of a restatement is what was said before: this share of its key
# terms at least (a fresh answer or pitch says mostly new things).
RECAP_MIN_OLD_SHARE = 0.4
RECAP_MIN_OLD_SHARE_MARKED = 0.25
RECAP_LATE_SHARE = 0.5  # of the call's spoken time, by a turn's start
RECAP_LAST_TURNS = 6  # of the staff's late turns of some length, the last ones


def recap(t: Transcript) -> Recap | None:
    """The last late staff turn that restates what the call established:
    key terms (pairs of content characters) of at least two earlier turns,
    the customer's among them; a lead-in (也就是说, 跟您确认一下) lowers how
    many it needs. None when no turn does.

    Terms are compared as written: a call is heard in one script."""
    if not t.staff or len(t.order) < 3:
        return None
    norms, begins, joined = t.norms, t.begins, t.joined
    first_at, last_at = begins[t.order[0]], max(t.ends)
    late_from = first_at + (last_at - first_at) * RECAP_LATE_SHARE
    late = [i for i in t.staff[1:] if begins[i] >= late_from and len(norms[i]) >= RECAP_MIN_CHARS]
    late = late[-RECAP_LAST_TURNS:]  # a recap closes the call
    # What the caller raises afresh (還有 我六月還買了私教) is not closed by a
    # turn before it: only a turn after the last new matter can recap.
    raised = [
        i
        for i in _NEW_MATTER_GATE.turns(t)
        if t.speakers[i] == "customer" and _NEW_MATTER.search(t.texts[i])
    ]
    if raised:
        last_raised = max(t.position[i] for i in raised)
        late = [i for i in late if t.position[i] > last_raised]
    if not late:
        return None
    if not t.in_order:  # positions in `joined` are not time order
        return _recap_by_turns(t, late_from)
    customer = SEP.join(norms[i] for i in t.customer)
    opening = _opening_pairs(t)
    place, starts = t.position, t.starts
    # pair -> where the call first says it, or -1 if not before the turn it
    # was looked up for; turns are taken latest first, so a pair not said
    # before one is not said before any earlier one either.
    first: dict[str, int] = {}
    by_customer: dict[str, bool] = {}  # pair -> whether the customer says it
    for index in sorted(late, key=place.__getitem__, reverse=True):
        until = starts[index]  # the turns before this one
        pairs = _pairs(norms[index]) - opening
        terms = set()
        for p in pairs:
            at = first.get(p)
            if at is None:
                at = first[p] = joined.find(p, 0, until)
            if 0 <= at < until:
                terms.add(p)
        if len(terms) < RECAP_MIN_TERMS_MARKED or len(terms) < RECAP_MIN_OLD_SHARE_MARKED * len(
            pairs
        ):
            continue  # too few however it is led in: _restates would refuse it
        for p in terms:
            said = by_customer.get(p)
            if said is None:
                said = by_customer[p] = p in customer
            if said:
                break
        else:
            continue
        # The turns that first said them; where those are too few, the
        # latest before this one as well.
        sources = len({bisect_right(starts, first[p]) for p in terms})
        if sources < RECAP_MIN_SOURCES:
            said_at = [first[p] for p in terms] + [joined.rfind(p, 0, until) for p in terms]
            sources = len({bisect_right(starts, a) for a in said_at})
        found = _restates(index, norms[index], pairs, terms, sources, _asked_before(t, index))
        if found is not None:
            return found
    return None


# A caller bringing up another matter: 還有 or 另外 set apart at a pause,
# or before what they go on to ask about (還有那個授權書, 對了我還想問); 對了
# alone agrees (對了 沒錯), so it needs what follows.
_NEW_MATTER = both_scripts(
    "(?:^|[\\s，,。！？!?])(?:(?:还有|另外)(?:[\\s，,]|那个|一个|我|就是)|对了(?:我|还|那个))"
)
_NEW_MATTER_GATE = Gate("还有 另外 对了")


def _asked_before(t: Transcript, index: int) -> set[str]:
    """The pairs of the customer's turn right before staff turn `index`:
    an answer takes up the words of what it answers (押金 退 after 押金總得退吧)."""
    place = t.position[index]
    if place == 0:
        return set()
    before = t.order[place - 1]
    return _pairs(t.norms[before]) if t.speakers[before] == "customer" else set()


def _opening_pairs(t: Transcript) -> set[str]:
    """The pairs of the staff's first turn (a greeting is no restatement), once a call."""
    cached: set[str] | None = t.memo.get("opening_pairs")
    if cached is None:
        cached = t.memo["opening_pairs"] = _pairs(t.norms[t.staff[0]])
    return cached


def _restates(
    index: int, text: str, pairs: set[str], terms: set[str], sources: int, asked: set[str]
) -> Recap | None:
    marker = _RECAP_MARKER.search(text)
    wanted = RECAP_MIN_TERMS_MARKED if marker else RECAP_MIN_TERMS
    share = RECAP_MIN_OLD_SHARE_MARKED if marker else RECAP_MIN_OLD_SHARE
    if len(terms) < wanted or sources < RECAP_MIN_SOURCES:
        return None
    # Without a lead-in, the words of the question just asked restate only
    # that question: the rest must still make a restatement.
    if not marker and len(terms - asked) < wanted:
        return None
    if len(terms) < share * len(pairs):
        return None
    return Recap(index, tuple(sorted(terms)), sources, marker.group(0) if marker else "")


def restates_something(t: Transcript, index: int, after: int = 0) -> bool:
    """Whether staff turn `index`, from char `after` on, or the staff's next
    turn, restates key terms said before that turn (a recap's lead-in is
    followed by what it recaps): as many as a recap after a lead-in needs."""
    place = t.position[index]
    if t.in_order:
        earlier = t.joined[: t.starts[index]]
    else:
        earlier = SEP.join(t.norms[i] for i in t.order[:place])
    opening = _opening_pairs(t) if t.staff[0] != index else set()
    if _says_again(_pairs(t.norms[index][after:]) - opening, earlier):
        return True
    position = t.position  # the staff's turns are in time order: the first after it
    following = next((i for i in t.staff if position[i] > place), None)
    return following is not None and _says_again(_pairs(t.norms[following]) - opening, earlier)


def _says_again(pairs: set[str], earlier: str) -> bool:
    """Whether `earlier` holds as many of `pairs` as a recap after a lead-in needs."""
    found = 0
    for pair in pairs:
        if pair in earlier:
            found += 1
            if found == RECAP_MIN_TERMS_MARKED:
                return True
    return False


def _recap_by_turns(t: Transcript, late_from: float) -> Recap | None:
    """`recap` for turns that are not in time order, turn by turn."""
    first: dict[str, int] = {}
    customer: set[str] = set()
    opening = _opening_pairs(t)
    found = None
    for place, index in enumerate(t.order):
        text = t.norms[index]
        pairs = _pairs(text) - opening
        if (
            t.speakers[index] == "staff"
            and t.begins[index] >= late_from
            and place > 1
            and len(text) >= RECAP_MIN_CHARS
        ):
            terms = pairs & first.keys()
            if terms & customer:
                sources = len({first[p] for p in terms})
                found = (
                    _restates(index, text, pairs, terms, sources, _asked_before(t, index)) or found
                )
        for pair in pairs - first.keys():
            first[pair] = index
        if t.speakers[index] == "customer":
            customer |= pairs
    return found


# -- holds heard in speech -----------------------------------------------------------

_HOLD_ASK = both_scripts(
    "(?:请|麻烦)?(?:您|你)?(?:稍|少|等)(?:等|候|待)(?:一下|一会|片刻|一分钟|一下下)?"
    "|(?:请|麻烦)(?:您|你)?等(?:我)?一下|等我一下|我(?:帮您|帮你|去|先)?(?:查|看|问|确认)一下(?:请|您)?稍"
)
_HOLD_BACK = both_scripts(
    "(?:耐心)?等候|久等|等(?:很)?久了|让(?:您|你)等|谢谢(?:您|你)?(?:的)?(?:等待|耐心)|感谢(?:您|你)?(?:的)?(?:等待|耐心)"
)
_HOLD_GATE = Gate(
    "稍等 稍候 稍待 少等 少候 等一 等我 等等 久等 等候 等待 等很久 等久 等了 让您等 让你等 耐心"
)
# Silence this long after staff asked the caller to wait (or before staff
# thanks them for waiting) is a hold, even when no telephony event says so.
SPEECH_HOLD_MIN_GAP_S = 8.0


@dataclass(frozen=True, slots=True)
class SpokenHold:
    start: float  # the end of the turn before the silence
    end: float  # the start of the turn after it
    ask: int | None  # the staff turn that asked the caller to wait
    back: int | None  # the staff turn that thanked them for waiting


def spoken_holds(t: Transcript, min_gap_s: float = SPEECH_HOLD_MIN_GAP_S) -> list[SpokenHold]:
    """Holds heard in speech: staff away from the line between two of their
    turns, with a silence of at least `min_gap_s` there, announced in the
    first turn (请您稍等一下) or closed in the second by thanking the caller
    for waiting (感谢您耐心等候). The caller checking in meanwhile (喂 有人吗)
    does not end the hold: only staff coming back does."""
    if not _HOLD_GATE.turns(t):  # nobody asked to wait or thanked for it
        return []
    norms, speakers, begins, ends = t.norms, t.speakers, t.begins, t.ends
    out = []
    left: int | None = None  # the staff turn before the window
    latest = 0.0  # the latest end of speech so far
    silence = 0.0  # the longest silence since `left`
    caller = 0.0  # how long the caller spoke since `left`
    for index in t.order:
        begin, end = begins[index], ends[index]
        if left is not None:
            silence = max(silence, begin - latest)
        if speakers[index] == "staff":
            if left is not None and silence >= min_gap_s:
                window = begin - ends[left]
                ask = left if _HOLD_ASK.search(norms[left]) else None
                back = index if _HOLD_BACK.search(norms[index]) else None
                if (ask is not None or back is not None) and caller <= window * 0.25:
                    out.append(SpokenHold(ends[left], begin, ask, back))
            left, silence, caller = index, 0.0, 0.0
        elif left is not None:
            caller += end - begin
        latest = max(latest, end)
    return out


# -- the next contact ------------------------------------------------------------

# A time ahead (下周 明天 周三 十二号 到时候) with, close after it, a
# contact or a meeting (再打给您 回访 提醒您 见 等您 上课): staff setting out
# when the caller hears from the club again, in their own words.
_AHEAD = (
    "(?:下(?:个)?(?:周|礼拜|星期|个?月|次|回)|这(?:周|礼拜|星期)|(?:周|礼拜|星期))[一二三四五六日天1-7]?"
    "|明天|后天|明早|晚点|晚一点|等一下|待会儿?|稍后|过(?:几|两|一两|两三)天|改天|到时候?"
    "|[0-9一二三四五六七八九十]{1,3}(?:号|日)"
    "|[0-9一二三四五六七八九十半两]{1,3}(?:分钟|个?小时|个?钟头)(?:内|后|以内|之内)"
)
_CONTACT_ACT = (
    "打(?:电话|给|过去|回|来)|拨(?:给|过去)|回(?:电|复|覆|访|拨|报|您|你)|联络|联系|通知|提醒|跟进|追踪"
    "|(?:传|发|寄)(?:给|简讯|短信|讯息|信|mail|email)|见(?:面)?|等(?:您|你)|(?:第一次|来)?上课|过来|帮(?:您|你)(?:确认|安排)"
)
_NEXT_CONTACT = both_scripts(
    f"(?:{_AHEAD})[^，。！？,.!?]{{0,14}}?(?:{_CONTACT_ACT})"
    "|(?:再|会|另外)(?:跟|和|给)(?:您|你)(?:联络|联系|回访|回复|回覆|确认|回报|说明|报告|约)"
    "|(?:再|会)(?:打|回)(?:个)?(?:电话)?(?:给|跟)(?:您|你)"
)
_NEXT_CONTACT_GATE = Gate(
    "下周 下礼拜 下星期 下个 下次 下回 这周 这礼拜 这星期 周 礼拜 星期 明天 后天 明早 晚点 晚一点 等一下 待会 稍后 "
    "过几天 过两天 过一两天 过两三天 改天 到时 号 日 跟您 跟你 和您 和你 给您 给你 分钟 小时 钟头"
)


# Of those, the ones that call the caller back (not a meeting or a message).
_CALL_BACK = both_scripts("打|拨|回电|回复|回覆|回拨|回(?:您|你)|联络|联系")


def next_contact(t: Transcript, *, calls_only: bool = False) -> tuple[int, Cue] | None:
    """The last staff turn that sets out a next contact in its own words: a
    time ahead with a call, a message or a meeting after it (我周三再打电话提醒您,
    下周我再跟您回访一下, 下礼拜二晚上七点第一次上课 我在二楼等您); with
    `calls_only`, a call back only (稍后我打给您, 我十分钟内回您)."""
    gated = {i for i in _NEXT_CONTACT_GATE.turns(t) if t.speakers[i] == "staff"}
    for index in reversed(t.staff):
        if index in gated:
            for match in _NEXT_CONTACT.finditer(t.norms[index]):
                if not calls_only or _CALL_BACK.search(match.group(0)):
                    return index, Cue(match.start(), match.end(), "next contact")
    return None
