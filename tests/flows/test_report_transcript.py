"""Transcripts: a worker composes a report over several messages, as it happens on a phone."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.wechat import messages as msg
from storage.models import Case, CaseEvent, Draft, InboundMessage, Media, Reporter
from tests.support.images import jpeg_bytes

WORKER = "oWorker-0001"


def reference_in(reply: str) -> str:
    match = re.search(r"案件编号：(\S+)", reply)
    assert match, reply
    return match.group(1)


def test_text_and_photo_then_submit_gives_reference_and_code(harness):
    harness.fake.add_media("MEDIA-1", jpeg_bytes(), content_type="image/jpeg")

    first = harness.say(msg.text(WORKER, "二车间配电箱门坏了，电线裸露"))
    assert "已收到文字说明" in first and "提交" in first
    second = harness.say(msg.image(WORKER, "MEDIA-1"))
    assert "已收到照片（本次已有2条）" in second
    done = harness.say(msg.text(WORKER, "提交"))

    reference = reference_in(done)
    day = harness.clock.now.astimezone(harness.settings.timezone).strftime("%Y%m%d")
    assert reference == f"AQ-{day}-0001"
    code = re.search(r"查询码：([A-Z0-9]{8})", done)
    assert code, done
    with harness.services.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.reference == reference
        assert case.text == "二车间配电箱门坏了，电线裸露"
        assert case.status == "submitted" and case.submitted_via == "command"
        assert s.scalars(select(Draft)).one().status == "submitted"
        media = s.scalars(select(Media)).one()
        assert media.case_id == case.id and media.status == "pending"


def test_jobs_download_the_photo_and_triage_the_case(harness):
    harness.fake.add_media("MEDIA-2", jpeg_bytes(), content_type="image/jpeg")
    harness.say(msg.image(WORKER, "MEDIA-2"))
    harness.say(msg.text(WORKER, "仓库安全出口被货物堵死了"))
    harness.say(msg.text(WORKER, "提交"))
    harness.run_jobs()
    with harness.services.sessions() as s:
        media = s.scalars(select(Media)).one()
        assert media.status == "stored", media.error
        assert harness.services.media.path(media.path).read_bytes()[:2] == b"\xff\xd8"
        case = s.scalars(select(Case)).one()
        assert case.triage_status == "done"
        assert case.triage is not None and case.triage["categories"][0]["id"] == "egress"


def test_query_shows_status_to_the_reporter_only(harness):
    done = harness.say(msg.text(WORKER, "叉车司机没有证"))
    done = harness.say(msg.text(WORKER, "提交"))
    reference = reference_in(done)
    code = re.search(r"查询码：([A-Z0-9]{8})", done).group(1)

    mine = harness.say(msg.text(WORKER, f"查询 {reference.lower()}"))
    assert reference in mine and "已提交，等待受理" in mine
    other = harness.say(msg.text("oSomeoneElse", f"查询 {reference}"))
    assert "没有找到" in other and "等待受理" not in other
    with_code = harness.say(msg.text("oSomeoneElse", f"查询 {reference} {code.lower()}"))
    assert "等待受理" in with_code
    listing = harness.say(msg.text(WORKER, "我的举报"))
    assert reference in listing


def test_cancel_drops_the_draft(harness):
    harness.say(msg.text(WORKER, "有人在车间抽烟"))
    assert "已取消" in harness.say(msg.text(WORKER, "取消"))
    assert "没有待提交" in harness.say(msg.text(WORKER, "提交"))
    with harness.services.sessions() as s:
        assert s.scalars(select(Case)).all() == []


def test_window_end_submits_automatically_and_pushes_the_reference(harness):
    harness.say(msg.text(WORKER, "冷库氨气味道很大"))
    harness.say(msg.location(WORKER, 29.86, 118.43, label="歙县经济开发区"))
    harness.run_jobs()
    assert harness.fake.sent_messages() == []
    harness.run_jobs(advance=harness.settings.draft_window_seconds + 1)
    sent = harness.fake.sent_messages()
    assert "已自动提交" in sent[0].text
    assert [m.text for m in sent[1:]] == [m.text for m in sent[1:] if "哪家企业" in m.text]  # only the question follows
    with harness.services.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.submitted_via == "timeout"
        assert case.place == "歙县经济开发区" and abs(case.latitude - 29.86) < 1e-9
        assert reference_in(sent[0].text) == case.reference


def test_a_retry_gets_the_same_answer_and_changes_nothing(harness):
    xml = msg.text(WORKER, "脚手架没有护栏", msg_id="777")
    first = harness.say(xml)
    again = harness.say(xml)
    assert first == again
    with harness.services.sessions() as s:
        assert len(s.scalars(select(InboundMessage)).all()) == 1


def test_openid_is_not_stored_in_clear(harness):
    harness.say(msg.text(WORKER, "电线老化冒火花"))
    harness.say(msg.text(WORKER, "提交"))
    with harness.services.engine.connect() as conn:
        for table in ("reporters", "inbound_messages", "cases", "drafts"):
            rows = conn.exec_driver_sql(f"SELECT * FROM {table}").fetchall()
            assert rows and WORKER not in repr(rows), table
    with harness.services.sessions() as s:
        reporter = s.scalars(select(Reporter)).one()
        assert harness.services.vault.open(reporter.sealed_openid) == WORKER


def test_no_enterprise_named_asks_once_and_uses_the_answer(harness):
    harness.say(msg.text(WORKER, "除尘器的泄爆片被拆掉了，车间粉尘很大"))
    harness.say(msg.text(WORKER, "提交"))
    harness.run_jobs()
    asked = [m.text for m in harness.fake.sent_messages()]
    assert len(asked) == 1 and "哪家企业" in asked[0]
    with harness.services.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.enterprise is None and case.question == "enterprise" and case.major is True

    reply = harness.say(msg.text(WORKER, "宏达机械"))
    assert "已记录" in reply and "宏达机械" in reply
    harness.run_jobs()
    with harness.services.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.enterprise == "歙县宏达机械制造有限公司"
        assert case.section_id == "industry" and case.question is None
    # asked once only: the second triage did not ask again
    assert len(harness.fake.sent_messages()) == 1
    # and the next plain text is a new tip again, not another answer
    assert "已收到文字说明" in harness.say(msg.text(WORKER, "楼梯间堆满了纸箱"))


def test_a_repeat_of_an_open_case_is_linked_to_the_first(harness):
    for who in (WORKER, "oSecondWorker"):
        harness.say(msg.text(who, "宏达机械二车间安全出口被货物堵死了"))
        harness.say(msg.text(who, "提交"))
        harness.run_jobs()
    with harness.services.sessions() as s:
        first, second = s.scalars(select(Case).order_by(Case.id)).all()
        assert first.duplicate_of_id is None and first.status == "submitted"
        assert second.duplicate_of_id == first.id and second.status == "duplicate"
    told = harness.fake.sent_messages()
    assert any("同一隐患" in m.text and first.reference in m.text for m in told)


def test_a_photo_gps_and_capture_time_fill_the_case_and_never_reach_storage(harness):
    from tests.media.images import encode, exif_with, scene

    gps = {1: "N", 2: (29.0, 52.0, 12.0), 3: "E", 4: (118.0, 25.0, 48.0)}
    exif = exif_with(taken="2026:11:29 14:05:00", gps=gps, make="PhoneMaker", model="X1")
    harness.fake.add_media("GPS-1", encode(scene(3), exif=exif.tobytes()), content_type="image/jpeg")
    harness.say(msg.image(WORKER, "GPS-1"))
    harness.run_jobs()  # downloaded while the draft is still open
    harness.say(msg.text(WORKER, "宏达机械车间里电线乱拉"))
    harness.say(msg.text(WORKER, "提交"))
    harness.run_jobs()
    with harness.services.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.location_source == "photo"
        assert case.latitude == pytest.approx(29 + 52 / 60 + 12 / 3600)
        assert case.longitude == pytest.approx(118 + 25 / 60 + 48 / 3600)
        local = case.observed_at.astimezone(harness.settings.timezone)
        assert (local.day, local.hour, local.minute) == (29, 14, 5)
        media = s.scalars(select(Media)).one()
    stored = harness.services.media.path(media.path).read_bytes()
    assert b"PhoneMaker" not in stored and b"Exif" not in stored[:200]


def test_a_reporter_who_left_is_forgotten_once_their_cases_are_finished(harness):
    from bot.sweeper import sweep
    from storage.models import OutboxMessage

    harness.say(msg.text(WORKER, "宏达机械车间电线乱拉"))
    harness.say(msg.text(WORKER, "提交"))
    harness.run_jobs()
    harness.say(msg.event(WORKER, "unsubscribe"))
    days = harness.settings.erase_after_days
    harness.clock.advance((days + 1) * 86400)
    assert sweep(harness.services)["identities_erased"] == 0  # the case is still open: they must hear the outcome
    with harness.services.sessions() as s, s.begin():
        s.scalars(select(Case)).one().status = "closed"
    assert sweep(harness.services)["identities_erased"] == 1
    with harness.services.sessions() as s:
        reporter = s.scalars(select(Reporter)).one()
        assert reporter.sealed_openid == b"" and reporter.digest.startswith("erased:")
        assert s.scalars(select(Case)).one().reporter_id == reporter.id  # the case stays, anonymous
        assert all(m.status in ("sent", "cancelled") for m in s.scalars(select(OutboxMessage)))
    # following again starts afresh as a new reporter
    assert "欢迎关注" in harness.say(msg.event(WORKER, "subscribe"))
    with harness.services.sessions() as s:
        assert len(s.scalars(select(Reporter)).all()) == 2


def test_the_same_photo_from_another_worker_links_the_repeat_by_its_picture(harness):
    """No enterprise named and different words: only the near-identical photo says it is the same hazard."""
    from tests.media.images import encode, scene

    photo = encode(scene(11, (640, 480)), quality=90)
    for n, (who, words) in enumerate(((WORKER, "楼梯间堆满了纸箱"), ("oSecondWorker", "消防通道被杂物占了"))):
        harness.fake.add_media(f"SAME-{n}", photo, content_type="image/jpeg")
        harness.say(msg.image(who, f"SAME-{n}"))
        harness.run_jobs()  # the photo is downloaded and hashed before the case is triaged
        harness.say(msg.text(who, words))
        harness.say(msg.text(who, "提交"))
        harness.run_jobs()
    with harness.services.sessions() as s:
        first, second = s.scalars(select(Case).order_by(Case.id)).all()
        assert first.duplicate_of_id is None
        assert second.duplicate_of_id == first.id and second.status == "duplicate"
        events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == second.id)).all()
        assert any("照片几乎相同" in (e.note or "") for e in events)


def test_different_photos_and_words_are_two_cases(harness):
    from tests.media.images import encode, scene

    for n, (who, words) in enumerate(((WORKER, "楼梯间堆满了纸箱"), ("oSecondWorker", "消防通道被杂物占了"))):
        harness.fake.add_media(f"OTHER-{n}", encode(scene(20 + n, (640, 480)), quality=90), content_type="image/jpeg")
        harness.say(msg.image(who, f"OTHER-{n}"))
        harness.run_jobs()
        harness.say(msg.text(who, words))
        harness.say(msg.text(who, "提交"))
        harness.run_jobs()
    with harness.services.sessions() as s:
        assert [c.duplicate_of_id for c in s.scalars(select(Case).order_by(Case.id))] == [None, None]
