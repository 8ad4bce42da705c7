"""Deadlines: reminders before they pass, escalation to the section head and then the leaders, the morning digest.

Cases are reported through the webhook; their state and deadlines are then set in the database, as the inspector
commands would. Messages are delivered by a real worker to the fake WeChat API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

import bot.sweeper
from bot.deadlines import scan
from bot.sweeper import sweep
from bot.wechat import messages as msg
from storage.db import transaction
from storage.inspectors import Staff, sync_staff
from storage.models import Case, Inspector, OutboxMessage
from tests.support.harness import Harness, make_settings, wipe_database

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 1, 9, 0, tzinfo=TZ).astimezone(UTC)  # a Tuesday morning in the bureau

INSPECTOR_A, INSPECTOR_B, HEAD = "oInspector-A", "oInspector-B", "oHead-Industry"
COMMERCE = "oInspector-Commerce"  # 商务股 has an inspector and no head
OFFICE = "oInspector-Office"
LEADER = "oLeader-1"
STAFF_OF = {
    "industry": {"inspectors": [INSPECTOR_A, INSPECTOR_B], "heads": [HEAD]},
    "commerce": {"inspectors": [COMMERCE], "heads": []},
    "office": {"inspectors": [OFFICE], "heads": []},
    # tech: nobody at all
}
EVERYONE = [INSPECTOR_A, INSPECTOR_B, HEAD, COMMERCE, OFFICE, LEADER]

_reporters = count(1)


@pytest.fixture
def h(tmp_path, database_url, redis_url, redis_conn, fake_wechat) -> Iterator[Harness]:
    common: dict[str, Any] = {"database_url": database_url, "redis_url": redis_url, "api": fake_wechat.base_url}
    base = make_settings(tmp_path, **common)
    sections = [
        {**s.as_dict(), "heads": [], **STAFF_OF.get(s.id, {})}  # the bundled sections, with people in them
        for s in base.sections
    ]
    settings = make_settings(
        tmp_path,
        **common,
        **{
            "sections": sections,
            "bureau.leaders": [LEADER],
            "webhook.max_clock_skew_seconds": 0,  # the test clock is not the wall clock
            "deadlines.remind_before_hours": 24,
            "deadlines.escalate_leaders_after_hours": 48,
            "deadlines.digest_hour": 8,
        },
    )
    harness = Harness.start(settings, fake_wechat)
    wipe_database(harness.services.engine)
    harness.clock.now = START
    staff = [Staff(o, s.id, "inspector") for s in settings.sections for o in s.inspectors]
    staff += [Staff(o, s.id, "head") for s in settings.sections for o in s.heads]
    staff += [Staff(o, None, "leader") for o in settings.leaders]
    with transaction(harness.services.sessions) as session:
        sync_staff(session, harness.services.vault, staff)
    try:
        yield harness
    finally:
        harness.close()


def local(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=TZ).astimezone(UTC)


def new_case(h: Harness, text: str, **fields: Any) -> int:
    """A case reported through the webhook and triaged, then put in the given state (section: 工业股 by default)."""
    reporter = f"oReporter-{next(_reporters)}"
    h.say(msg.text(reporter, text))
    done = h.say(msg.text(reporter, "提交"))
    reference = re.search(r"案件编号：(\S+)", done)
    assert reference, done
    h.run_jobs()  # triage first, so that it does not overwrite what the test sets below
    fields = {"section_id": "industry", "status": "submitted", "major": False, **fields}  # whatever triage found
    if "accept_due_at" in fields and "submitted_at" not in fields:
        # a long accept window, so the reminder lead is remind_before_hours (see lead_time for short windows)
        fields["submitted_at"] = fields["accept_due_at"] - timedelta(days=10)
    with transaction(h.services.sessions) as s:
        case = s.scalars(select(Case).where(Case.reference == reference.group(1))).one()
        for name, value in fields.items():
            setattr(case, name, value)
        return case.id


def change(h: Harness, case_id: int, **fields: Any) -> None:
    with transaction(h.services.sessions) as s:
        s.execute(update(Case).where(Case.id == case_id).values(**fields))


def reference_of(h: Harness, case_id: int) -> str:
    with h.services.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        return case.reference


def delivered(h: Harness, marker: str) -> dict[str, list[str]]:
    """Run the worker, then everything each person has received that contains `marker`."""
    with transaction(h.services.sessions) as s:  # inspectors who wrote recently: the customer-service window is open
        s.execute(update(Inspector).values(last_inbound_at=h.clock.now))
    h.run_jobs()
    return {o: [m.text for m in h.fake.sent_messages(o) if marker in m.text] for o in EVERYONE}


def deadline_rows(h: Harness) -> list[OutboxMessage]:
    """Outbox rows of reminders and escalations (not digests, nor, say, the case cards inspectors get)."""
    with h.services.sessions() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.inspector_id.is_not(None))).all()
    return [r for r in rows if r.body.startswith(("【提醒】", "【逾期"))]


def only(received: dict[str, list[str]]) -> dict[str, int]:
    return {o: len(texts) for o, texts in received.items() if texts}


def nothing(counts: dict[str, int]) -> bool:
    """No reminder or escalation (a digest may be due on the days a test's clock crosses)."""
    return not any(v for k, v in counts.items() if k != "digests")


def test_reminder_before_the_accept_deadline_goes_to_the_sections_inspectors_and_head_once(h):
    due = local(2026, 12, 2, 17, 0)  # 32 h after START: not yet in the 24 h reminder window
    case_id = new_case(h, "二车间配电箱门坏了，电线裸露", accept_due_at=due)
    assert nothing(scan(h.services))

    h.clock.now = due - timedelta(hours=24)
    assert scan(h.services) == {"reminders": 3, "head_escalations": 0, "leader_escalations": 0, "digests": 0}
    assert nothing(scan(h.services))  # every 30 s: nothing new
    received = delivered(h, "【提醒】")
    assert only(received) == {INSPECTOR_A: 1, INSPECTOR_B: 1, HEAD: 1}
    reference = reference_of(h, case_id)
    assert received[INSPECTOR_A] == [f"【提醒】{reference} 的受理期限 12月02日 17:00 即将到期（已提交，等待受理）。"]

    h.clock.now = due - timedelta(seconds=1)
    assert nothing(scan(h.services))
    assert only(delivered(h, "【提醒】")) == {INSPECTOR_A: 1, INSPECTOR_B: 1, HEAD: 1}


def test_two_cases_due_at_the_same_moment_get_a_reminder_each(h):
    due = START + timedelta(hours=5)
    first = new_case(h, "仓库安全出口被货物堵死了", accept_due_at=due)
    second = new_case(h, "叉车司机没有证", accept_due_at=due)
    assert scan(h.services)["reminders"] == 6
    received = delivered(h, "【提醒】")
    assert only(received) == {INSPECTOR_A: 2, INSPECTOR_B: 2, HEAD: 2}
    assert {reference_of(h, first), reference_of(h, second)} == {
        t.split(" ")[0].removeprefix("【提醒】") for t in received[INSPECTOR_A]
    }


def test_overdue_goes_to_the_head_then_to_the_leaders(h):
    due = START - timedelta(minutes=1)
    case_id = new_case(h, "冷库氨气味道很大", status="accepted", verify_due_at=due)
    reference = reference_of(h, case_id)

    assert scan(h.services) == {"reminders": 0, "head_escalations": 1, "leader_escalations": 0, "digests": 0}
    received = delivered(h, "【逾期")
    assert only(received) == {HEAD: 1}
    assert received[HEAD] == [f"【逾期】工业股的 {reference} 核查已逾期（期限 12月01日 08:59，已受理），请督办。"]

    h.clock.now = due + timedelta(hours=48) - timedelta(seconds=1)
    assert nothing(scan(h.services))
    h.clock.now = due + timedelta(hours=48)
    assert scan(h.services)["leader_escalations"] == 1
    assert nothing(scan(h.services))
    received = delivered(h, "【逾期")
    assert only(received) == {HEAD: 1, LEADER: 1}
    assert received[LEADER] == [f"【逾期升级】工业股的 {reference} 核查逾期超过48小时（期限 12月01日 08:59，已受理）。"]


def test_overdue_in_a_section_without_a_head_goes_to_the_leaders(h):
    new_case(h, "超市货架变形快倒了", section_id="commerce", accept_due_at=START - timedelta(hours=1))
    assert scan(h.services)["head_escalations"] == 1
    received = delivered(h, "【逾期")
    assert only(received) == {LEADER: 1}
    assert received[LEADER][0].startswith("【逾期】商务股的 ")


def test_major_hazards_are_sent_with_priority(h):
    major = new_case(h, "粉尘车间没有除尘设施", accept_due_at=START + timedelta(hours=2), major=True)
    minor = new_case(h, "楼梯扶手松了", accept_due_at=START + timedelta(hours=2))
    scan(h.services)  # reminders
    h.clock.now = START + timedelta(hours=3)
    scan(h.services)  # the head's escalation
    rows = deadline_rows(h)
    assert sorted((r.case_id, r.body[:3], r.priority) for r in rows) == sorted(
        [(major, "【提醒", True)] * 3
        + [(major, "【逾期", True)]
        + [(minor, "【提醒", False)] * 3
        + [(minor, "【逾期", False)]
    )


def test_an_extended_deadline_gets_its_own_reminder(h):
    first_due = START + timedelta(hours=10)
    case_id = new_case(h, "脚手架没有护栏", status="verifying", verify_due_at=first_due)
    assert scan(h.services)["reminders"] == 3
    delivered(h, "【提醒】")  # delivered before the deadline (after it, a reminder expires unsent)

    extended = first_due + timedelta(days=30)
    change(h, case_id, verify_due_at=extended, extended=True)
    h.clock.now = first_due + timedelta(hours=1)  # the old deadline has passed: it no longer counts
    assert nothing(scan(h.services))
    h.clock.now = extended - timedelta(hours=2)
    assert scan(h.services)["reminders"] == 3
    received = delivered(h, "【提醒】")
    assert only(received) == {INSPECTOR_A: 2, INSPECTOR_B: 2, HEAD: 2}
    assert "12月01日 19:00" in received[INSPECTOR_B][0] and "12月31日 19:00" in received[INSPECTOR_B][1]


def test_a_new_rectification_deadline_after_acceptance_is_a_new_deadline(h):
    case_id = new_case(h, "电焊作业没有动火审批", status="accepted", verify_due_at=START + timedelta(hours=3))
    assert scan(h.services)["reminders"] == 3
    change(h, case_id, status="rectifying", rectify_deadline=START + timedelta(hours=6))
    counts = scan(h.services)
    assert counts["reminders"] == 3
    assert [t for t in delivered(h, "【提醒】")[HEAD] if "整改期限" in t]


def test_the_digest_is_sent_once_a_day_after_the_hour(h):
    h.clock.now = local(2026, 12, 1, 7, 0)
    new_case(h, "配电箱进水", accept_due_at=local(2026, 11, 30, 17, 0), major=True)  # overdue
    new_case(h, "行车钢丝绳断股", status="accepted", verify_due_at=local(2026, 12, 2, 20, 0))  # within 48 h
    new_case(h, "砂轮机没有防护罩", status="rectified")  # open, no deadline
    new_case(h, "油漆库没有通风", status="accepted", verify_due_at=local(2027, 1, 20, 17, 0))  # later
    new_case(h, "已经修好的隐患", status="closed", closed_at=h.clock.now)  # not open
    new_case(h, "另一股室的隐患", section_id="tech", status="accepted", verify_due_at=local(2027, 1, 20, 17, 0))

    h.clock.now = local(2026, 12, 1, 7, 59)
    assert scan(h.services)["digests"] == 0
    h.clock.now = local(2026, 12, 1, 8, 0)
    assert scan(h.services)["digests"] == 3
    h.clock.now = local(2026, 12, 1, 8, 0, 30)
    assert scan(h.services)["digests"] == 0
    received = delivered(h, "早上好")
    assert only(received) == {INSPECTOR_A: 1, INSPECTOR_B: 1, HEAD: 1}  # not commerce, office or the leader
    assert received[HEAD] == [
        "早上好！工业股今日待办：4件未办结，其中可能重大隐患1件、已逾期1件、今明两天到期1件。回复“待办”查看清单。"
    ]

    h.clock.now = local(2026, 12, 1, 23, 59)
    assert scan(h.services)["digests"] == 0
    h.clock.now = local(2026, 12, 2, 0, 1)  # a new day, before the hour
    assert scan(h.services)["digests"] == 0
    h.clock.now = local(2026, 12, 2, 9, 30)
    assert scan(h.services)["digests"] == 3
    assert only(delivered(h, "早上好")) == {INSPECTOR_A: 2, INSPECTOR_B: 2, HEAD: 2}


def test_no_digest_for_a_section_with_nothing_open_that_morning(h):
    h.clock.now = local(2026, 12, 1, 8, 30)
    assert scan(h.services)["digests"] == 0  # nothing open anywhere
    h.clock.now = local(2026, 12, 1, 10, 0)
    new_case(
        h, "商场消防通道堵塞", section_id="commerce", accept_due_at=local(2026, 12, 3, 10, 0), submitted_at=h.clock.now
    )
    assert scan(h.services)["digests"] == 0  # not "good morning" at ten: its card went out when it was routed
    h.clock.now = local(2026, 12, 2, 8, 0)
    assert scan(h.services)["digests"] == 1
    assert only(delivered(h, "早上好")) == {COMMERCE: 1}


def test_nothing_for_closed_rejected_duplicate_or_transferred_cases(h):
    past = START - timedelta(days=5)
    for i, status in enumerate(("closed", "rejected", "duplicate", "transferred", "rectified")):
        new_case(
            h, f"第{i}号已经处理的隐患", status=status, accept_due_at=past, verify_due_at=past, rectify_deadline=past
        )
    new_case(h, "受理了但还没有核查期限", status="accepted", accept_due_at=past, verify_due_at=None)
    new_case(h, "还没有整改期限", status="rectifying", verify_due_at=past, rectify_deadline=None)
    h.clock.now = START + timedelta(days=10)
    assert nothing(scan(h.services))
    assert deadline_rows(h) == []


def test_an_unrouted_case_belongs_to_the_default_section(h):
    new_case(h, "不知道哪个股室的隐患", section_id=None, accept_due_at=START + timedelta(hours=1))
    assert scan(h.services)["reminders"] == 1
    assert only(delivered(h, "【提醒】")) == {OFFICE: 1}


def test_a_case_not_yet_triaged_gets_no_reminder_until_it_is_routed(h):
    case_id = new_case(h, "车间里有人抽烟", accept_due_at=START + timedelta(hours=1), triage_status="pending")
    assert nothing(scan(h.services))
    change(h, case_id, triage_status="done")
    assert scan(h.services)["reminders"] == 3


def test_a_short_accept_window_is_reminded_at_half_its_span_not_at_once(h):
    due = START + timedelta(hours=8)
    new_case(h, "配电箱没有门", accept_due_at=due, submitted_at=START)
    assert nothing(scan(h.services))  # 8 h away, inside the 24 h window, but only just submitted
    h.clock.now = START + timedelta(hours=4)
    assert scan(h.services)["reminders"] == 3


def test_a_section_with_no_staff_is_fine(h):
    new_case(h, "科技企业实验室气瓶没有固定", section_id="tech", accept_due_at=START + timedelta(hours=1))
    assert nothing(scan(h.services))  # nobody to remind
    h.clock.now = START + timedelta(hours=2)
    assert scan(h.services)["head_escalations"] == 1  # no head: the leaders hear of it
    assert only(delivered(h, "【逾期")) == {LEADER: 1}


def test_the_sweep_reports_deadline_counts_and_keeps_working_when_the_scan_fails(h, monkeypatch):
    new_case(h, "车间地面油污很滑", accept_due_at=START + timedelta(hours=1))
    counts = sweep(h.services)
    assert counts["reminders"] == 3 and "deadline_scan_failed" not in counts

    def broken(services: Any) -> dict[str, int]:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(bot.sweeper, "scan_deadlines", broken)
    h.say(msg.text("oReporter-late", "吊物下面站人"))
    h.say(msg.text("oReporter-late", "提交"))  # its triage is left to the sweeper: Redis "lost" it
    h.services.redis.flushdb()
    counts = sweep(h.services, grace=timedelta(0))
    assert counts["deadline_scan_failed"] == 1
    assert counts["triage_case"] == 1 and counts["deliver_message"] >= 3  # the reminders' jobs were lost too
    assert only(delivered(h, "【提醒】")) == {INSPECTOR_A: 1, INSPECTOR_B: 1, HEAD: 1}


def test_a_reminder_not_delivered_before_its_deadline_expires_unsent(h):
    due = START + timedelta(hours=10)
    new_case(h, "脚手架没有护栏", status="verifying", verify_due_at=due)
    assert scan(h.services)["reminders"] == 3
    h.clock.now = due + timedelta(minutes=1)  # the worker was down until after the deadline
    assert not any(delivered(h, "【提醒】").values())
    with h.services.sessions() as s:
        statuses = {r.status for r in s.scalars(select(OutboxMessage)) if r.body.startswith("【提醒】")}
    assert statuses == {"expired"}
