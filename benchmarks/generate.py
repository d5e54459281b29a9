"""Realistic call records for benchmarks: a front desk's week, made up.

Each call follows one of the desk's usual scenarios (an enquiry, a booking,
a caller asking for a coach who is out, a complaint, a billing question, an
outbound reminder, a call nobody answers and its retry) and is filled to
about 1,500 characters of talk with the ordinary content such calls carry.
Numbers repeat across calls, so retries and redials are matched as in life.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

TZ = timezone(timedelta(hours=8))
TALK_CHARS = 1500

OPENING = [
    "您好，信義會館，我是怡君，請問有什麼可以幫您？",
    "您好，這裡是大安會館，敝姓林，很高興為您服務。",
]
CLOSING = ["謝謝您的來電，歡迎您到會館來做客，再見！", "好的，那就先這樣，祝您有美好的一天，再見。"]
STAFF_CONTENT = [
    "我們的瑜伽課分成初級跟進階，初級比較適合平常沒有運動習慣的朋友。",
    "飛輪課每週二和週四晚上七點半開始，一堂大概五十分鐘，強度比較高。",
    "游泳池每天早上六點開放到晚上十點，週一早上會清潔所以晚一點開。",
    "重訓區有專人指導，第一次使用的會員可以預約免費的器材教學。",
    "年費會員可以不限次數使用所有課程，另外每季還有一次體適能檢測。",
    "停車的話，地下二樓有會員專用車位，離開前到櫃檯蓋章就可以折抵。",
    "置物櫃是投幣式的，也可以加購月租櫃，一個月三百元，放東西比較方便。",
    "這個月新開了皮拉提斯小班課，一班最多八個人，老師會個別調整動作。",
    "如果您有膝蓋方面的舊傷，上課前跟老師說一聲，他會幫您調整強度。",
    "健康管理方案包含體組成分析、飲食建議，還有每個月一次的進度追蹤。",
    "目前的優惠是兩人同行入會享九折，活動到這個月底為止。",
    "淋浴間有提供洗髮精跟沐浴乳，毛巾的話需要自己帶或是在櫃檯租用。",
]
CUSTOMER_CONTENT = [
    "我最近想開始運動，可是不知道該從哪一種課開始比較好。",
    "我下班大概都七點以後了，晚上還有哪些課可以上？",
    "我朋友說你們的游泳池很乾淨，想先去看看環境。",
    "我之前在別的健身房上過重訓，不過已經停了快一年了。",
    "停車方便嗎？我通常都是開車過去的。",
    "年費跟月費差多少？我怕自己沒辦法常常去。",
    "課程需要先預約嗎？還是直接去就可以上？",
    "我膝蓋以前受過傷，不知道能不能上飛輪課。",
]
SCENARIOS: dict[str, dict[str, Any]] = {
    "enquiry": {
        "weight": 35,
        "staff": ["請問您怎麼稱呼？", "好的王先生，我再跟您確認一下您想了解的課程。"],
        "customer": ["你好，我想問一下體驗課的時間。", "我姓王。"],
        "tags": [],
    },
    "booking": {
        "weight": 15,
        "staff": [
            "好的，請您稍等一下，我幫您查一下名額。",
            "跟您確認一下，週六上午十點，電話是零九一二三四五六七八，對嗎？",
        ],
        "customer": ["我想預約週六上午十點的體驗課。", "我的電話是0912-345-678。"],
        "tags": [],
    },
    "absent": {
        "weight": 15,
        "staff": [
            "請問您貴姓？找王教練有什麼事情嗎？",
            "不好意思，王教練今天外出，需要我幫您轉告他，或是請您留下電話，等他回來後和您聯繫好嗎？",
        ],
        "customer": ["請問王教練在嗎？", "我姓陳，想跟他約私人課的時間。"],
        "tags": ["asks-for-person", "person-absent"],
    },
    "complaint": {
        "weight": 10,
        "staff": [
            "真的很抱歉造成您的不便，請問是哪一天發生的呢？",
            "我會把您的意見記錄下來，今天請館長回電給您。",
        ],
        "customer": ["我要反映一下，上次的課老師遲到了二十分鐘。", "是上週四晚上的飛輪課。"],
        "tags": ["complaint"],
    },
    "billing": {
        "weight": 10,
        "staff": ["這部分我不太清楚，我請負責帳務的同事來跟您說明，好嗎？"],
        "customer": ["我這個月好像被扣了兩次月費。", "好，麻煩你了。"],
        "tags": [],
    },
    "outbound": {
        "weight": 15,
        "staff": [
            "您好，我是信義會館的怡君，請問是王大明先生嗎？",
            "不好意思打擾了，想提醒您下週的體適能檢測，我們再跟您聯絡確認時間。",
        ],
        "customer": ["我是，有什麼事嗎？", "好，沒問題。"],
        "tags": [],
    },
}


def _talk(
    rng: random.Random, scenario: dict[str, Any], start: float
) -> tuple[list[dict[str, Any]], float]:
    staff_lines = [rng.choice(OPENING), *scenario["staff"]]
    customer_lines = list(scenario["customer"])
    utterances, t, chars, turn = [], start, 0, 0
    while chars < TALK_CHARS:
        staff_turn = turn % 2 == 0
        pool = staff_lines if staff_turn else customer_lines
        text = (
            pool.pop(0) if pool else rng.choice(STAFF_CONTENT if staff_turn else CUSTOMER_CONTENT)
        )
        length = len(text) / rng.uniform(3.6, 4.6)
        utterances.append(
            {
                "speaker": "staff" if staff_turn else "customer",
                "start": round(t, 2),
                "end": round(t + length, 2),
                "text": text,
            }
        )
        t += length + rng.uniform(0.3, 1.1)
        chars += len(text)
        turn += 1
    text = rng.choice(CLOSING)
    utterances.append(
        {"speaker": "staff", "start": round(t, 2), "end": round(t + len(text) / 4, 2), "text": text}
    )
    return utterances, t + len(text) / 4


def make_call(n: int, rng: random.Random, when: datetime, phone: str) -> dict[str, Any]:
    name = rng.choices(list(SCENARIOS), weights=[s["weight"] for s in SCENARIOS.values()])[0]
    scenario = SCENARIOS[name]
    outbound = name == "outbound"
    answered_at = round(rng.uniform(2.0, 13.0), 1)
    utterances, end = _talk(rng, scenario, answered_at + 0.4)
    events: list[dict[str, Any]] = [
        {"t": 0.0, "type": "ringing"},
        {"t": answered_at, "type": "answered"},
    ]
    if rng.random() < 0.3:
        hold = round(rng.uniform(answered_at + 20, answered_at + 60), 1)
        events += [
            {"t": hold, "type": "hold"},
            {"t": round(hold + rng.uniform(10, 75), 1), "type": "resume"},
        ]
    events.append(
        {"t": round(end + 1.0, 1), "type": "hangup", "by": rng.choice(["customer"] * 4 + ["staff"])}
    )
    due = (when + timedelta(hours=4)).isoformat()
    return {
        "schema": "callsop.call/1",
        "id": f"xinyi-{when:%Y%m%d}-{n:06d}",
        "club": "xinyi",
        "direction": "outbound" if outbound else "inbound",
        "line": "consult",
        "purpose": "business",
        "prearranged": rng.random() < 0.5,
        "started_at": when.isoformat(),
        "staff": {"id": f"s{n % 12:02d}", "name": "陳怡君"},
        "customer": {"name": "王大明", "phone": phone, "known": rng.random() < 0.3},
        "events": events,
        "utterances": utterances,
        "note": {
            "when": "週六上午",
            "who": "王大明",
            "where": "信義會館",
            "what": f"{name}",
            "why": "會員需求",
            "how": "回電告知",
            "urgent": rng.random() < 0.03,
        },
        "tags": scenario["tags"],
        "memos": [{"for": "s03", "from_name": "陳小姐", "phone": phone, "message": "請回電"}]
        if name == "absent"
        else [],
        "tasks": [{"kind": "callback", "due": due, "phone": phone}]
        if name in ("absent", "complaint")
        else [],
        "escalations": [],
        "complaint": {"logged_at": when.isoformat(), "summary": "老師遲到"}
        if name == "complaint"
        else None,
        "plan": {
            "purpose": "提醒檢測",
            "number_verified": True,
            "name_verified": True,
            "salutation": "王先生",
            "outline": "提醒時間",
            "time_budget_min": 5,
        }
        if outbound
        else None,
    }


def calls(count: int, seed: int = 7, same_number: bool = False) -> Iterator[dict[str, Any]]:
    """`count` calls a few minutes apart; with `same_number`, all to one number."""
    rng = random.Random(seed)
    phones = [f"09{rng.randrange(10_000_000, 99_999_999)}" for _ in range(max(10, count // 3))]
    if same_number:
        phones = phones[:1]
    when = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    for n in range(count):
        when += timedelta(seconds=rng.randrange(20, 240))
        yield make_call(n, rng, when, rng.choice(phones))


def write_batch(path: Path, count: int, seed: int = 7, same_number: bool = False) -> None:
    with path.open("w", encoding="utf-8") as out:
        for call in calls(count, seed, same_number):
            out.write(json.dumps(call, ensure_ascii=False) + "\n")
