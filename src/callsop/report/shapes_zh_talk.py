"""Chinese shapes of the messages of the outbound and talk rules."""

from __future__ import annotations

# (pattern, template) pairs for callsop.report.messages_zh: <D> in a pattern
# stands for a duration; group names say how a value is rendered there.

SHAPES: tuple[tuple[str, str], ...] = (
    # outbound
    ("no call plan on the record", "紀錄上沒有通話計畫"),
    (r"plan complete \(budget (?P<n>[\d.]+) min\)", "通話計畫完整（預計 {n} 分鐘）"),
    ("plan lacks (?P<w>.+)", "通話計畫缺少{w}"),
    ("greeted with (?P<p>.+)", "以「{p}」問候"),
    (r"staff's first turn has no greeting \((?P<p>.+)\)", "館員第一句沒有問候（如「{p}」）"),
    (
        r"named neither the club nor themselves in the first (?P<n>\d+) staff turns",
        "館員前 {n} 句既沒有報會館名稱，也沒有報自己的名字",
    ),
    (r"did not name the club in the first (?P<n>\d+) staff turns", "館員前 {n} 句沒有報會館名稱"),
    (
        r"did not give their own name in the first (?P<n>\d+) staff turns",
        "館員前 {n} 句沒有報上自己的名字",
    ),
    ("named the club and themselves", "已報出會館名稱與自己的名字"),
    (r"checked the person \((?P<p>.+)\)", "已確認接聽者身分（「{p}」）"),
    (
        r"did not check who answered in the first (?P<n>\d+) staff turns",
        "館員前 {n} 句沒有確認接聽者身分",
    ),
    ("nobody else answered", "沒有其他人代接"),
    ("the one who answered fetched nobody", "代接的人沒有去請本人來聽"),
    ("did not thank the one who fetched the person", "沒有向幫忙叫人的人道謝"),
    (r"thanked them \((?P<p>.+)\)", "已道謝（「{p}」）"),
    ("not recorded whether the call was prearranged", "沒有記錄是否事先約好"),
    ("the call was prearranged", "這通電話事先約好"),
    (
        r"unscheduled call without an apology in the first (?P<n>\d+) staff turns",
        "未事先約好的電話，館員前 {n} 句沒有為打擾致歉",
    ),
    (r"apologised for the interruption \((?P<p>.+)\)", "已為打擾致歉（「{p}」）"),
    (
        r"(?P<w>[a-z-]+) task on the record due (?P<z>\S+)",
        "紀錄上已有{w}待辦，期限 {z}",
    ),
    ("(?P<w>[a-z-]+) task on the record", "紀錄上已有{w}待辦"),
    (
        r"no next contact set \(in speech or as a task\)",
        "沒有約定下次聯絡（通話中沒提，也沒有待辦）",
    ),
    (r"next contact set \((?P<p>.+)\)", "已約定下次聯絡（「{p}」）"),
    (r"never rang \(no ringing event\)", "從未響鈴（沒有響鈴事件）"),
    ("ended by (?P<w>.+), not given up by staff", "由{w}結束，不是館員放棄撥打"),
    (r"gave up after (?P<n>\d+) rings \(< (?P<m>\d+)\)", "鈴響 {n} 聲就掛斷（少於 {m} 聲）"),
    (r"gave up after (?P<n>\d+) rings \(> (?P<m>\d+)\)", "鈴響 {n} 聲才掛斷（超過 {m} 聲）"),
    (
        r"gave up after (?P<n>\d+) rings \((?P<a>\d+) ± (?P<b>\d+)\)",
        "鈴響 {n} 聲後掛斷（{a} ± {b} 聲）",
    ),
    ("marked final: not to be retried", "已標示為最後一次：不再重撥"),
    ("no customer number to match a retry", "沒有客戶號碼可比對重撥"),
    ("no customer number to match a redial", "沒有客戶號碼可比對重撥"),
    ("retry due by (?P<t>[\\d:]+)", "應於 {t} 前重撥"),
    ("redial due by (?P<t>[\\d:]+)", "應於 {t} 前重撥"),
    (
        r"no retry to this number \((?P<d1><D>)–(?P<d2><D>) later\)",
        "沒有在 {d1}至 {d2}後重撥這個號碼",
    ),
    (r"retried after (?P<d1><D>) \(< (?P<d2><D>)\)", "{d1}後就重撥（早於 {d2}）"),
    (r"retried after (?P<d1><D>) \(> (?P<d2><D>)\)", "{d1}後才重撥（晚於 {d2}）"),
    (
        r"retried after (?P<d1><D>) \((?P<d2><D>)–(?P<d3><D>)\)",
        "{d1}後重撥（在 {d2}至 {d3}之間）",
    ),
    ("line not dropped", "線路沒有中斷"),
    ("line dropped at (?P<d><D>); never redialled", "第 {d}斷線，之後沒有重撥"),
    (r"redialled after (?P<d1><D>) \(> (?P<d2><D>)\)", "{d1}後才重撥（超過 {d2}）"),
    (r"redialled after (?P<d1><D>) \(≤ (?P<d2><D>)\)", "{d1}後重撥（未超過 {d2}）"),
    (
        r"the customer called back after (?P<d1><D>) \(≤ (?P<d2><D>)\)",
        "客戶在 {d1}後回撥（未超過 {d2}）",
    ),
    # talk
    ("no answer or hang-up event to measure the call", "沒有接聽或掛斷事件，無法計算通話長度"),
    (r"call of (?P<d1><D>) \(≤ (?P<d2><D>)\)", "通話 {d1}（未超過 {d2}）"),
    ("call of (?P<d><D>); never asked whether to go on", "通話 {d}，從未詢問是否方便繼續"),
    ("asked to go on at (?P<d><D>)", "第 {d}詢問是否方便繼續"),
    (
        "asked at (?P<d1><D>), before (?P<d2><D>); not again",
        "第 {d1}詢問過（早於 {d2}），之後沒有再問",
    ),
    ("staff never said they did not know", "館員沒有說過不知道"),
    ("said (?P<p>.+) and offered no colleague", "說了「{p}」，卻沒有提議請同事協助"),
    (
        r"offered a colleague \((?P<p>.+)\) and asked \((?P<q>.+)\)",
        "已提議請同事協助（「{p}」），並徵詢對方（「{q}」）",
    ),
    (
        r"offered a colleague \((?P<p>.+)\); the caller agreed",
        "已提議請同事協助（「{p}」），來電者同意",
    ),
    (
        r"offered a colleague \((?P<p>.+)\) without the caller's consent",
        "提議請同事協助（「{p}」），但沒有徵得來電者同意",
    ),
    (r"(?P<d1><D>) of staff speech \(< (?P<d2><D>)\)", "館員發言 {d1}（少於 {d2}）"),
    ("no words or syllable counts for the staff's turns", "館員的發言沒有字詞或音節數"),
    (
        r"staff spoke (?P<n>\d+) characters a minute \(< (?P<m>[\d.]+)\)",
        "館員語速每分鐘 {n} 字（低於 {m} 字）",
    ),
    (
        r"staff spoke (?P<n>\d+) characters a minute \(> (?P<m>[\d.]+)\)",
        "館員語速每分鐘 {n} 字（高於 {m} 字）",
    ),
    (
        r"staff spoke (?P<n>\d+) characters a minute \((?P<a>[\d.]+)–(?P<b>[\d.]+)\)",
        "館員語速每分鐘 {n} 字（在 {a}–{b} 字之間）",
    ),
    (r"(?P<d1><D>) of talk \(< (?P<d2><D>)\)", "交談 {d1}（少於 {d2}）"),
    (
        r"staff talked (?P<a>\d+%) of the talk \(> (?P<b>\d+%)\)",
        "館員說話佔交談的 {a}（超過 {b}）",
    ),
    (
        r"staff talked (?P<a>\d+%) of the talk \(≤ (?P<b>\d+%)\)",
        "館員說話佔交談的 {a}（未超過 {b}）",
    ),
    ("never talked over the customer", "從未搶話打斷客戶"),
    (
        r"staff started (?P<d1><D>) before the customer finished \(> (?P<d2><D>)\)",
        "館員在客戶說完前 {d1}就開口（超過 {d2}）",
    ),
    ("no recording: silence is measured in the audio", "沒有錄音：靜默須從錄音量測"),
    (
        r"(?P<d1><D>) of silence at (?P<d2><D>), outside a hold \(> (?P<d3><D>)\)",
        "第 {d2}起靜默 {d1}（不在保留中），超過 {d3}",
    ),
    ("no silence of (?P<d><D>) or more outside a hold", "保留以外沒有 {d}以上的靜默"),
    ("strung fillers together: (?P<p>.+)", "連串使用口頭禪：「{p}」"),
    (r"no filler strings in (?P<n>\d+) staff turns", "館員 {n} 句中沒有連串的口頭禪"),
    ("contradicted the customer \\((?P<p>.+)\\)", "反駁了客戶（「{p}」）"),
    ("never contradicted or blamed the customer", "沒有反駁或責怪客戶"),
    (
        "called the caller (?P<p>.+) before the surname was given",
        "來電者報上姓氏前，就稱呼對方「{p}」",
    ),
    ("never guessed the caller's name", "沒有猜測來電者的姓名"),
    ("the caller's surname is not known", "不知道來電者的姓氏"),
    ("addressed the caller as (?P<p>.+)", "以「{p}」稱呼來電者"),
    (
        "knew the caller's surname but never addressed them by it",
        "知道來電者的姓氏，卻從未以姓氏稱呼",
    ),
    (
        r"used (?P<n>\d+) of §7's polite expressions: (?P<w>.+) \(< (?P<m>\d+)\)",
        "用了 {n} 種 §7 的禮貌用語：{w}（少於 {m} 種）",
    ),
    (
        r"used (?P<n>\d+) of §7's polite expressions: (?P<w>.+) \(≥ (?P<m>\d+)\)",
        "用了 {n} 種 §7 的禮貌用語：{w}（至少 {m} 種）",
    ),
    ("the caller gave no number, date or time", "來電者沒有提供號碼、日期或時間"),
    ("read the recorded number back to confirm it", "已唸出紀錄上的號碼請對方確認"),
    ("read the agreed details back to confirm them", "已複誦談定的時間或號碼請對方確認"),
    ("had the caller repeat the details back", "已請對方把館員給的時間或號碼複述一次"),
    (
        "the caller gave (?P<p>.+) at (?P<d><D>); staff never read it back or asked to confirm",
        "來電者在第 {d}說了「{p}」，館員沒有複誦或請對方確認",
    ),
    (
        r"the caller gave (?P<p>.+) at (?P<d><D>); staff read back other digits \((?P<x>\d+)\)",
        "來電者在第 {d}說了「{p}」，館員複誦的是不同或不完整的號碼（{x}）",
    ),
    (r"read back or confirmed (?P<n>\d+) detail\(s\)", "已複誦或確認 {n} 項資料"),
    (r"(?P<d1><D>) of talk \(≤ (?P<d2><D>)\)", "交談 {d1}（未超過 {d2}）"),
    ("(?P<d><D>) of talk and no recap of the key points", "交談 {d}，卻沒有複述重點"),
    (r"recapped the key points \((?P<p>.+)\)", "已複述重點（「{p}」）"),
    (
        r"restated the key points in their own words after (?P<p>.+) "
        r"\((?P<n>\d+) key terms of (?P<m>\d+) earlier turns\)",
        "以「{p}」帶出，用自己的話複述重點（重提先前 {m} 句話中的 {n} 個重點詞）",
    ),
    (
        r"restated the key points in their own words "
        r"\((?P<n>\d+) key terms of (?P<m>\d+) earlier turns\)",
        "用自己的話複述重點（重提先前 {m} 句話中的 {n} 個重點詞）",
    ),
    ("pushed back at an upset caller \\((?P<p>.+)\\)", "對不滿的客戶頂回去（「{p}」）"),
    # holds announced in speech (hold rules)
    (
        r"hold of (?P<d1><D>) at (?P<d2><D>) \(> (?P<d3><D>)\), heard in speech",
        "保留 {d1}（第 {d2}起），超過 {d3}（由對話聽出）",
    ),
    (
        r"one hold of (?P<d1><D>) \(≤ (?P<d2><D>)\), heard in speech",
        "保留一次，{d1}（未超過 {d2}）（由對話聽出）",
    ),
    (
        r"(?P<n>\d+) holds, the longest of (?P<d1><D>) \(≤ (?P<d2><D>)\), heard in speech",
        "保留 {n} 次，最長 {d1}（未超過 {d2}）（由對話聽出）",
    ),
)
