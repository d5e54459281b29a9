"""What a turn of speech does: questions, leave-taking, pushback, recaps,
holds and next contacts, read from recogniser-shaped text (no punctuation, either script)."""

from __future__ import annotations

import msgspec
import pytest

from callsop.engine import score
from callsop.engine.call import Compiled
from callsop.engine.transcript import Transcript
from callsop.policy import default_policy
from callsop.record.model import SCHEMA, CallRecord, Utterance
from callsop.rules.speech_acts import (
    Gate,
    _load_forms,
    both_scripts,
    clarifying_cue,
    complaint_heard,
    farewell_cue,
    forms_from_opencc,
    in_stock_offer,
    next_contact,
    pushback,
    pushback_cue,
    question_cue,
    recap,
    restates_something,
    spoken_holds,
)
from callsop.text import PhraseBook, normalise


def plain(text: str) -> str:
    return normalise(text)


def transcript(*turns: tuple[str, float, float, str]) -> Transcript:
    utterances = [Utterance(speaker=s, start=a, end=b, text=x) for s, a, b, x in turns]  # type: ignore[arg-type]
    return Transcript(utterances, Compiled.of(default_policy()).book)


@pytest.mark.parametrize(
    "text",
    [
        "現在有網路嗎",
        "換到別支手機有沒有一樣的狀況呢",
        "是不是教練沒有到",
        "您大概幾點到的",
        "是哪一天的課",
        "那您的會員卡呢",
        "您是說上週六吧",
        "你们是怎么处理的",
        "要不要幫您改到下禮拜",
        "您是用哪一张卡付的",
        "您說的那位是男教練還是女教練",
        "您是說昨天晚上那堂齁",
    ],
)
def test_a_question_is_known_by_its_words_without_a_question_mark(text: str) -> None:
    assert question_cue(plain(text)) is not None
    assert clarifying_cue(plain(text)) is not None


@pytest.mark.parametrize(
    "text",
    [
        "我們這邊呢會幫您處理",
        "沒什麼問題",
        "好幾次了",
        "那我們再看看吧",
        "好的我了解",
        "我幫您查一下",
    ],
)
def test_statements_are_not_questions(text: str) -> None:
    assert question_cue(plain(text)) is None


@pytest.mark.parametrize(
    "text",
    [
        "請問還有其他可以幫您的嗎？",
        "还有什么可以帮您的吗",
        "請問還有沒有其他問題",
        "有什麼可以幫您的嗎",
    ],
)
def test_the_stock_offer_is_no_question(text: str) -> None:
    assert question_cue(plain(text), text) is None


def test_a_question_beside_the_stock_offer_still_counts() -> None:
    text = plain("您是哪一天來的 還有其他可以幫您的嗎")
    assert question_cue(text) is not None


def test_a_listed_phrase_inside_the_stock_offer_is_found_there() -> None:
    text = plain("好的 請問還有其他可以幫您的嗎")
    at = text.index("請問")
    assert in_stock_offer(text, at, at + 2)
    other = plain("請問是哪一天")
    assert not in_stock_offer(other, 0, 2)


@pytest.mark.parametrize(
    "text",
    [
        "我幫您登記好嗎",
        "這樣子可以嗎 那我幫您登記",
        "那我請主管回電好不好",
        "我會請工務去看 方便留個電話嗎",
    ],
)
def test_asking_leave_for_a_proposal_is_no_clarifying_question(text: str) -> None:
    assert question_cue(plain(text)) is not None
    assert clarifying_cue(plain(text)) is None


@pytest.mark.parametrize("text", ["我們會怎麼處理呢 我們會先退今天的課費", "那你要怎樣"])
def test_a_question_answered_at_once_or_a_retort_asks_nothing(text: str) -> None:
    assert clarifying_cue(plain(text)) is None


def test_a_question_mark_alone_makes_a_question() -> None:
    text = "您說的是上週四的課？"
    assert question_cue(plain(text), text) is not None
    assert question_cue(plain(text)) is None


@pytest.mark.parametrize(
    "text",
    [
        "不客氣 祝您生活愉快",
        "祝您和家人平安順心",
        "期待再為您服務",
        "好的呢 期待再为您服务",
        "好喔 那先這樣 bye bye",
        "謝謝您的來電 [UNK]見",
        "好的 謝謝您 在見",
        "欢迎您下次再来",
        "那就週六見",
        "好 那先這樣 謝謝您 掰",
        "好嘞 那就这样 再见哈",
        "好的 那祝您週末愉",  # the wish cut at the segment's end
        "謝謝您體諒 待會聊",
    ],
)
def test_leave_taking_in_other_words(text: str) -> None:
    assert farewell_cue(plain(text)) is not None


@pytest.mark.parametrize(
    "text", ["好 那就先這樣", "嗯 好的 沒問題", "好的 謝謝", "那我們再聊一下細節吧"]
)
def test_no_leave_taken(text: str) -> None:
    assert farewell_cue(plain(text)) is None


def test_goodbye_cut_at_a_segment_boundary() -> None:
    assert farewell_cue(plain("見"), previous=plain("好的 那就這樣 感謝")) is not None
    assert farewell_cue(plain("好的 謝謝您再"), following=plain("見")) is not None
    assert farewell_cue(plain("見")) is None  # a lone 見 with nothing before it


@pytest.mark.parametrize(
    "text",
    [
        "但是我們確實沒有看到您的退費申請",
        "我們查不到就沒辦法幫您退",
        "剛才跟你說了 九點才開門",
        "我已經跟您說過很多次了",
        "規定就是這樣",
        "您一定是記錯了",
        "沒這回事啦 我們系統不會重複扣",
        "您聽我講 那堂課是人數不足才取消的",
        "你們會員自己要看清楚合約啊",
        "那你要怎樣",
        "暫停要本人到櫃檯填單 電話講的不算",
        "我們的規定一直都是這樣 是您當時自己沒有來辦",
        "可是系統顯示您是七點零二分才刷卡 您不覺得這樣要求我們有點過分嗎",
        "那您下次早一點來就不會這樣了",
    ],
)
def test_pushback_in_other_words(text: str) -> None:
    assert pushback_cue(plain(text)) is not None


@pytest.mark.parametrize(
    "text",
    [
        "剛才跟您說的那個方案是十二個月的",
        "系統這邊目前還沒看到您的付款紀錄 我請會計再幫您查一次",
        "不好意思 我馬上幫您查",
        "請問是不是您當時沒有收到簡訊",
        "電話講的時間我有記下來",
        "您下次來的時候我再幫您確認",
    ],
)
def test_explaining_is_not_pushback(text: str) -> None:
    assert pushback_cue(plain(text)) is None


def test_pushback_counts_only_against_an_upset_caller() -> None:
    calm = transcript(
        ("customer", 0, 3, "請問你們幾點開門"),
        ("staff", 3.5, 5, "九點開門"),
        ("customer", 5.5, 7, "那八點半可以進去嗎"),
        ("staff", 7.5, 9, "剛才跟您說了 九點才開"),
    )
    assert pushback(calm, complaint=False) is None
    assert pushback(calm, complaint=True) is not None
    upset = transcript(
        ("customer", 0, 3, "你們到底幾點開門 我打了三次都沒人接 很誇張"),
        ("staff", 3.5, 5, "剛才跟你說了 九點才開"),
    )
    found = pushback(upset, complaint=False)
    assert found is not None and found[0] == 1


def _booking_turns() -> list[tuple[str, float, float, str]]:
    return [
        ("staff", 0, 3, "您好 浦江會館 我是小周"),
        ("customer", 3.5, 9, "我想約一個普拉提體驗課"),
        ("staff", 9.5, 16, "普拉提體驗課週六上午十點和週日下午三點都有"),
        ("customer", 16.5, 22, "週六上午十點吧 要帶什麼東西嗎"),
        ("staff", 22.5, 28, "帶運動服跟身分證 我們要登記"),
        ("customer", 28.5, 30, "好"),
    ]


def _booking(last: str) -> Transcript:
    return transcript(
        *_booking_turns(), ("staff", 30.5, 40, last), ("customer", 40.5, 41, "好 謝謝")
    )


def test_a_late_turn_restating_the_call_is_a_recap() -> None:
    said = recap(
        _booking("好的 那我幫您登記週六上午十點的普拉提體驗課 您帶運動服跟身分證過來就可以")
    )
    assert said is not None
    assert said.turn == 6 and said.sources >= 2 and not said.marker
    assert "上午" in said.terms


def test_a_lead_in_lowers_how_much_must_be_restated() -> None:
    said = recap(_booking("也就是說 週六上午那堂 到時候見"))
    assert said is not None and said.marker == "也就是說"
    assert recap(_booking("好 那週六上午那堂 到時候見")) is None


def test_a_lead_in_counts_when_what_follows_restates_the_call() -> None:
    t = _booking("跟您確認一下 週六上午十點 帶運動服跟身分證")
    assert restates_something(t, 6, 6)
    t = _booking("我們收到會打電話跟您確認")
    assert not restates_something(t, 6, len(t.norms[6]))


def test_a_turn_before_the_caller_raises_another_matter_does_not_close_the_call() -> None:
    summary = "好的 那我幫您登記週六上午十點的普拉提體驗課 您帶運動服跟身分證過來就可以"
    after = [
        ("staff", 30.5, 40, summary),
        ("customer", 40.5, 44, "還有 我想問你們停車方便嗎"),
        ("staff", 44.5, 48, "地下室有停車場"),
        ("customer", 48.5, 49, "好 謝謝"),
    ]
    raised = transcript(*_booking_turns()[:6], *after)
    assert recap(raised) is None
    # 對了 said in agreement raises nothing.
    agreed = transcript(*_booking_turns()[:6], after[0], ("customer", 40.5, 42, "對了 沒錯 謝謝"))
    said = recap(agreed)
    assert said is not None and said.turn == 6


def test_an_answer_taking_up_the_question_just_asked_is_no_recap() -> None:
    t = transcript(
        ("staff", 0, 3, "您好 浦江會館 我是小周"),
        ("customer", 3.5, 9, "我搬家了 年卡可以退嗎 不用扣手續費吧"),
        ("staff", 9.5, 16, "年卡退費要扣手續費 剩下的按月退"),
        ("customer", 16.5, 22, "好吧 那就這樣"),
        ("staff", 22.5, 28, "我幫您登記 下週一店長回您電話"),
        ("customer", 28.5, 34, "那置物櫃押金可以退嗎 鑰匙要還嗎"),
        # Its key terms are the question's (置物櫃 押金 鑰匙), with only 不用扣 before.
        ("staff", 34.5, 40, "置物櫃押金可以退 鑰匙還回來就行 這個不用扣"),
        ("customer", 40.5, 41, "好 謝謝"),
    )
    assert recap(t) is None


def test_new_information_is_no_recap() -> None:
    assert recap(_booking("停車場在地下一樓 從民生路的入口進來 可以免費停兩個小時")) is None


def test_a_word_in_latin_letters_is_one_term_not_its_letters() -> None:
    t = transcript(
        ("staff", 0, 3, "您好 浦江會館 我是教練阿凱"),
        ("customer", 3.5, 6, "課表是用 App 看還是紙本"),
        ("staff", 6.5, 12, "我會傳 PDF 給您 也會放在我們 App 的個人頁面"),
        ("customer", 12.5, 15, "好 那個也一起傳給我"),
        ("staff", 15.5, 20, "沒問題 我一起放在 PDF 後面"),
    )
    assert recap(t) is None  # pdf is one term: three, not four


def test_patterns_read_either_script() -> None:
    assert both_scripts("稍等一下").fullmatch("稍等一下")
    assert both_scripts("还有[^吗]{0,2}吗").fullmatch("還有別的嗎")
    assert both_scripts("感谢").fullmatch("感謝")
    assert not both_scripts("[^么]").fullmatch("麼")
    assert farewell_cue(plain("祝您和家人平安顺心")) is not None
    assert farewell_cue(plain("祝您和家人平安順心")) is not None


def _hold(gap: float, ask: str, back: str) -> Transcript:
    return transcript(
        ("customer", 0, 3, "我想查我的會員到期日"),
        ("staff", 3.5, 6, ask),
        ("staff", 6 + gap, 9 + gap, back),
        ("customer", 9.5 + gap, 10 + gap, "好 謝謝"),
    )


def test_a_hold_announced_in_speech_with_its_gap() -> None:
    (hold,) = spoken_holds(
        _hold(25, "好的 請您稍等一下 我幫您查", "感謝您耐心等候 您的會員到三月底")
    )
    assert (hold.start, hold.end, hold.ask, hold.back) == (6, 31, 1, 2)


def test_a_hold_closed_by_thanks_for_waiting_without_an_ask() -> None:
    (hold,) = spoken_holds(_hold(30, "好 我看一下", "讓您久等了 您的會員到三月底"))
    assert hold.ask is None and hold.back == 2


def test_a_misheard_ask_to_wait_still_announces_a_hold() -> None:
    (hold,) = spoken_holds(_hold(20, "那請您少等一下喔", "感謝您的耐心等後 到三月底"))
    assert hold.ask == 1 and hold.back == 2


def test_a_short_pause_or_a_silence_nobody_announced_is_no_hold() -> None:
    assert spoken_holds(_hold(3, "您稍等", "查到了 到三月底")) == []
    assert spoken_holds(_hold(30, "我看看", "到三月底")) == []


def test_the_caller_checking_in_does_not_end_a_hold() -> None:
    t = transcript(
        ("customer", 0, 3, "我想查我的課還剩幾堂"),
        ("staff", 3.5, 6, "您稍等一下 我查一下"),
        ("customer", 56, 57, "喂 有人嗎"),
        ("staff", 77, 80, "不好意思讓您久等了 還剩五堂"),
    )
    (hold,) = spoken_holds(t)
    assert (hold.start, hold.end, hold.ask, hold.back) == (6, 77, 1, 3)


def test_a_caller_talking_between_two_staff_turns_is_no_hold() -> None:
    t = transcript(
        ("staff", 0, 2, "您稍等一下"),
        ("customer", 2.5, 12, "其實我是想問我媽媽的課 她上個月報名的 好像還沒收到通知 所以想確認"),
        ("customer", 21, 30, "還有就是她的會員卡好像也不見了 不知道要怎麼補辦 要帶什麼東西"),
        ("staff", 30.5, 33, "好 我了解"),
    )
    assert spoken_holds(t) == []


def test_a_hold_announced_in_a_machine_transcript_says_so() -> None:
    record = msgspec.convert(
        {
            "schema": SCHEMA,
            "id": "spoken-hold-machine",
            "started_at": "2026-11-27T10:00:00+08:00",
            "direction": "inbound",
            "speech": {"source": "machine", "engine": "test"},
            "utterances": [
                {"speaker": "staff", "start": 0.5, "end": 2.0, "text": "長青會館您好"},
                {"speaker": "customer", "start": 2.5, "end": 5.0, "text": "我想查我的會員到期日"},
                {"speaker": "staff", "start": 5.5, "end": 7.0, "text": "請您稍等一下"},
                {"speaker": "staff", "start": 30.0, "end": 33.0, "text": "感謝您耐心等候 到三月底"},
                {"speaker": "customer", "start": 33.5, "end": 34.0, "text": "好"},
            ],
        },
        CallRecord,
    )
    card = score([record], default_policy())[0]
    found = {f.rule: f for f in card.findings}
    hold = found["hold.max-duration"]
    assert hold.verdict == "pass"
    assert hold.message == "one hold of 23 s (≤ 60 s), heard in speech"
    assert hold.basis == "machine"
    # 請您稍等一下 before the hold heard in speech
    assert found["hold.ask-before-hold"].verdict == "pass"


@pytest.mark.parametrize(
    "text",
    [
        "好的 週四晚上七點 我週三再打電話提醒您",
        "谢谢您提醒我们 下周我再跟您回访一下 看看用起来怎么样",
        "可以 我等一下用簡訊傳給您 然後下禮拜二晚上七點第一次上課 我在二樓等您",
        "那我明天下午回覆您",
        "十二號那天我再跟您確認時間",
        "好 那我們到時候見",
        "我會再打電話給您",
        "那下禮拜二晚上我再打來",
    ],
)
def test_a_next_contact_set_in_ones_own_words(text: str) -> None:
    t = transcript(("customer", 0.0, 1.0, "好"), ("staff", 1.5, 6.0, text))
    found = next_contact(t)
    assert found is not None and found[0] == 1


@pytest.mark.parametrize(
    "text",
    [
        "週二週四晚上七點都有課 下禮拜開始也一樣",
        "好 那就先這樣 謝謝您 再見",
        "您上次那個私人教練的課還剩五堂 年底前要上完喔",
        "十二號那天的課已經額滿了",
    ],
)
def test_a_time_without_a_contact_sets_none(text: str) -> None:
    t = transcript(("customer", 0.0, 1.0, "好"), ("staff", 1.5, 6.0, text))
    assert next_contact(t) is None


def test_only_staff_set_the_next_contact() -> None:
    t = transcript(("staff", 0.0, 1.0, "好的"), ("customer", 1.5, 6.0, "那我下週再打給你們"))
    assert next_contact(t) is None


def test_the_shipped_script_forms_are_opencc_s() -> None:
    # Out of date after an OpenCC upgrade: run scripts/write-script-forms.
    assert _load_forms() == forms_from_opencc()
    assert both_scripts("周").fullmatch("週") and both_scripts("么").fullmatch("麼")


@pytest.mark.parametrize(
    ("said", "complains"),
    [
        ("我要反映一下 你們置物櫃壞掉", True),
        ("上禮拜的課教練沒來 我等了半小時 很扯欸", True),
        ("我只是出國兩個禮拜 為什麼課不能延期 這很不合理", True),
        ("我要投诉你们的教练", True),
        ("我找你們館長", False),  # asking for someone is no complaint
        ("請問週六有瑜珈課嗎", False),
    ],
)
def test_a_complaint_is_heard_from_the_caller(said: str, complains: bool) -> None:
    t = transcript(("staff", 0.0, 2.0, "您好 大安會館"), ("customer", 2.5, 6.0, said))
    assert (complaint_heard(t) is not None) is complains
    staff_said = transcript(
        ("staff", 0.0, 2.0, "我們不會讓您覺得很扯"), ("customer", 2.5, 4.0, "好")
    )
    assert complaint_heard(staff_said) is None


def test_a_gate_finds_its_words_in_either_script_with_or_without_the_shared_scan() -> None:
    gate = Gate("还有 另外")  # made after the policy was compiled: not in its scan
    turns = [
        ("customer", 0.0, 2.0, "我想問課程"),
        ("staff", 2.0, 4.0, "好的"),
        ("customer", 4.0, 6.0, "還有停車的問題"),
        ("customer", 6.0, 8.0, "另外呢"),
    ]
    assert gate.turns(transcript(*turns)) == [2, 3]
    utterances = [Utterance(speaker=s, start=a, end=b, text=x) for s, a, b, x in turns]  # type: ignore[arg-type]
    lists = {"x": ("好的",)}
    without = Transcript(utterances, PhraseBook(lists, gap_max_chars=6, shared=["x"]))
    marks = [()] * gate.number + [gate.forms]
    within = Transcript(utterances, PhraseBook(lists, gap_max_chars=6, shared=["x"], marks=marks))
    assert without.marked(gate.number) is None
    assert within.marked(gate.number) == [2, 3] == gate.turns(within) == gate.turns(without)


def test_a_complaint_is_heard_in_the_callers_words_not_the_staffs() -> None:
    t = transcript(
        ("customer", 0.0, 2.0, "你好我想問一下"),
        ("staff", 2.0, 4.0, "如果您不滿意可以跟我說"),
        ("customer", 4.0, 6.0, "我要反应一下你们教练的态度"),
    )
    assert complaint_heard(t) == 2


@pytest.mark.parametrize(
    ("text", "gives"),
    [
        ("行 你们看完给我回个电话 我这个号码就行", True),
        ("打這支就好", True),
        ("回我這個電話", True),
        ("聯絡我這支手機", True),
        ("我要找這個教練", False),
        ("你回這個喔", False),
    ],
)
def test_a_caller_names_the_line_they_call_from(text: str, gives: bool) -> None:
    from callsop.rules.inbound import _THIS_NUMBER

    assert (_THIS_NUMBER.search(plain(text)) is not None) is gives
