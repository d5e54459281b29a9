"""Chinese shapes of the messages of the call-wide, inbound, hold and record rules."""

from __future__ import annotations

# (pattern, template) pairs for callsop.report.messages_zh: <D> in a pattern
# stands for a duration; group names say how a value is rendered there.

SHAPES: tuple[tuple[str, str], ...] = (
    # no words to read
    ("no transcript: the call has no utterances", "沒有逐字稿：這通電話沒有任何發言"),
    (
        "voice only: the recording tells who spoke when, not the words",
        "僅有聲音：錄音只聽得出誰在何時說話，聽不出說了什麼",
    ),
    (
        "one track: the recording does not tell staff from customer",
        "單一音軌：錄音分不出館員與客戶",
    ),
    (
        "the machine transcript is too weak to fail this rule",
        "機器轉寫的品質不足以判定此規則不合格",
    ),
    ("a transcript alone: nothing kept with the call", "只有逐字稿：通話沒有附帶任何紀錄"),
    ("call never answered", "電話未接通"),
    ("call answered", "電話已接通"),
    ("no events or speech show whether the call was answered", "沒有事件或發言可判斷是否接通"),
    ("no events", "沒有通話事件"),
    ("inbound call", "來電"),
    ("outbound call", "撥出的電話"),
    ("direction not known", "不知道通話方向"),
    ("staff never spoke", "館員從未說話"),
    # close
    ("no hang-up event", "沒有掛斷事件"),
    ("staff hung up first at (?P<d><D>)", "館員先掛斷（第 {d}）"),
    ("the customer hung up first", "客戶先掛斷"),
    ("the line dropped", "線路中斷"),
    (
        "staff ended the call for a visitor, with a callback set",
        "館員為接待訪客結束通話，並已排定回電（§2.3(8)）",
    ),
    ("the hang-up does not say who hung up", "掛斷紀錄沒有註明由誰掛斷"),
    (r"the staff's last turn takes no leave \((?P<p>.+)\)", "館員最後一句沒有道別（如「{p}」）"),
    (r"took leave \((?P<p>.+)\)", "已道別（「{p}」）"),
    # complaint
    ("not a complaint", "不是客訴來電"),
    ("complaint call with no complaint entry", "客訴來電，卻沒有客訴紀錄"),
    (
        r"logged on (?P<a>[\d-]+), not the call's day \((?P<b>[\d-]+)\)",
        "於 {a} 登記，不是通話當天（{b}）",
    ),
    (r"logged the same day at (?P<t>[\d:]+)", "當天 {t} 已登記"),
    ("asked the complaining customer no clarifying question", "沒有向抱怨的客戶提出任何釐清問題"),
    ("listened and asked to clarify", "有傾聽並提問釐清"),
    (
        r"talked over the customer \((?P<d>\d+(?:\.\d+)? s) before they finished\)",
        "搶話打斷客戶（在對方說完前 {d}）",
    ),
    # hold
    ("no hold", "沒有保留"),
    ("hold at (?P<d><D>) has no end time", "第 {d}起的保留沒有結束時間"),
    (
        r"hold of (?P<d1><D>) at (?P<d2><D>) \(> (?P<d3><D>)\)"
        r"(?P<s1>, never resumed)?(?P<s2>, heard in the recording)?",
        "保留 {d1}（第 {d2}起），超過 {d3}{s1}{s2}",
    ),
    (
        r"one hold of (?P<d1><D>) \(≤ (?P<d2><D>)\)"
        r"(?P<s2>, heard in the recording)?",
        "保留一次，{d1}（未超過 {d2}）{s2}",
    ),
    (
        r"(?P<n>\d+) holds, the longest of (?P<d1><D>) \(≤ (?P<d2><D>)\)"
        r"(?P<s2>, heard in the recording)?",
        "保留 {n} 次，最長 {d1}（未超過 {d2}）{s2}",
    ),
    ("asked the caller to wait before every hold", "每次保留前都先請對方稍候"),
    (
        "hold at (?P<d1><D>) without (?P<p>.+) in the (?P<d2><D>) before",
        "第 {d1}開始保留，之前 {d2}內沒有說「{p}」",
    ),
    # inbound
    ("no ringing or answer event", "沒有響鈴或接聽事件"),
    (r"answered after (?P<n>\d+) rings \(> (?P<m>\d+)\)", "鈴響 {n} 聲才接聽（超過 {m} 聲）"),
    (r"answered after (?P<n>\d+) rings \(≤ (?P<m>\d+)\)", "鈴響 {n} 聲接聽（未超過 {m} 聲）"),
    (
        r"answered after (?P<n>\d+) rings; no apology for the wait",
        "鈴響 {n} 聲才接聽，卻沒有為久候致歉",
    ),
    (r"answered within (?P<n>\d+) rings", "鈴響 {n} 聲內接聽"),
    (r"apologised for (?P<n>\d+) rings \((?P<p>.+)\)", "鈴響 {n} 聲，已為久候致歉（「{p}」）"),
    ("first turn has neither a greeting nor the club's name", "第一句既沒有問候，也沒有報會館名稱"),
    ("first turn names the club but does not greet", "第一句報了會館名稱，但沒有問候"),
    ("first turn greets but does not name the club", "第一句有問候，但沒有報會館名稱"),
    ("greeted and named the club", "已問候並報出會館名稱"),
    ("the caller asked for nobody", "來電者沒有指名找人"),
    ("asked who is calling and why", "已詢問來電者的身分與來意"),
    (
        "did not ask the caller's (?P<o>.+) before the transfer",
        "轉接前沒有詢問來電者的{o}",
    ),
    ("did not ask the caller's (?P<o>.+)", "沒有詢問來電者的{o}"),
    ("the person asked for was not away", "要找的人並未外出"),
    ("no memo on the record for the absent colleague", "紀錄上沒有給外出同事的留言"),
    ("staff did not offer to take a message or a number", "館員沒有主動提議留言或留電話"),
    (
        r"offered a message \((?P<p>.+)\); memo for (?P<w>.+)",
        "已主動提議留言（「{p}」）；留言給 {w}",
    ),
    ("no transfer", "沒有轉接"),
    ("one transfer, each with a briefing", "轉接一次，已先交代來電內容"),
    (r"(?P<n>\d+) transfers, each with a briefing", "轉接 {n} 次，每次都先交代來電內容"),
    (
        r"transfer at (?P<d><D>) to (?P<x>.+) without a briefing",
        "第 {d}轉接給 {x}，沒有先交代來電內容",
    ),
    (r"transfer at (?P<d><D>) without a briefing", "第 {d}轉接，沒有先交代來電內容"),
    (
        r"transfer at (?P<d><D>) to (?P<x>.+) with a (?P<n>\d+)-character briefing \(< (?P<m>\d+)\)",
        "第 {d}轉接給 {x}，交代僅 {n} 個字（少於 {m} 個字）",
    ),
    (
        r"transfer at (?P<d><D>) with a (?P<n>\d+)-character briefing \(< (?P<m>\d+)\)",
        "第 {d}轉接，交代僅 {n} 個字（少於 {m} 個字）",
    ),
    ("the call note is not marked urgent", "通話記錄沒有標示緊急"),
    ("urgent note, no escalation on the record", "通話記錄標示緊急，紀錄上卻沒有呈報"),
    ("escalated to (?P<x>.+)", "已呈報給 {x}"),
    ("no follow-up owed", "不需要後續聯絡"),
    (
        r"a contact number is on the record \((?P<w>memos|tasks)\[(?P<i>\d+)\]\)",
        "紀錄上已有聯絡電話（第 {i} 筆{w}）",
    ),
    (
        r"the caller is on file with a contact number \(customer\.phone\)",
        "來電者在客戶資料裡，已有聯絡電話",
    ),
    (
        "(?P<w>[a-z-]+) owed; no number on the record and no transcript",
        "需要{w}；紀錄上沒有電話，也沒有逐字稿",
    ),
    (
        "(?P<w>[a-z-]+) owed, but no contact number asked for or recorded",
        "需要{w}，卻沒有詢問也沒有記下聯絡電話",
    ),
    (r"asked for a contact number \((?P<p>.+)\)", "已詢問聯絡電話（「{p}」）"),
    (
        r"the caller gave the number they call from \((?P<p>.+); customer\.phone\)",
        "來電者說用來電號碼聯絡（「{p}」）",
    ),
    ("no visitor broke off the call", "沒有因訪客中斷通話"),
    (
        "broke off for a visitor; no callback task on the record",
        "因訪客中斷通話，紀錄上卻沒有回電待辦",
    ),
    ("did not tell the caller they would be called back", "沒有告訴來電者會回電"),
    (
        r"promised a callback \((?P<p>.+)\) and set the task",
        "已承諾回電（「{p}」）並建立待辦",
    ),
    # the line and the note
    ("no line recorded", "沒有記錄線路"),
    ("line (?P<l>.+) is not a consultation line", "{l}不是諮詢專線"),
    ("the call's purpose is not recorded", "沒有記錄通話目的"),
    (
        "a (?P<w>[a-z]+) call on the consultation line (?P<l>.+)",
        "在諮詢專線（{l}）上講{w}電話",
    ),
    ("a business call", "業務電話"),
    ("no call note", "沒有通話記錄"),
    ("a wrong number: nothing to note", "打錯電話：沒有需要記錄的事（§2.3(4)）"),
    (
        "the note fills WHEN, WHO, WHERE, WHAT, WHY, HOW",
        "通話記錄的何時、何人、何地、何事、為何、如何皆已填寫",
    ),
    (
        r"the note fills WHEN, WHO, WHERE, WHAT, WHY, HOW \(a wrong number\)",
        "打錯電話，通話記錄的何時、何人、何地、何事、為何、如何仍皆已填寫",
    ),
    ("the note lacks (?P<w>.+)", "通話記錄缺少{w}"),
)
