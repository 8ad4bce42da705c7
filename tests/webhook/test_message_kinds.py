"""Every message kind and event the platform sends gets a sensible answer, in plain and in safe mode."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.wechat import messages as msg
from storage.models import Case, Draft, InboundMessage, Media, Reporter

WORKER = "oWorker-kinds"


@pytest.mark.parametrize("encrypt", [False, True], ids=["plain", "safe"])
def test_subscribe_gets_the_welcome_with_the_confidentiality_promise(harness, encrypt):
    reply = harness.say(msg.event(WORKER, "subscribe", "qrscene_factory-12"), encrypt=encrypt)
    assert "欢迎关注" in reply and "保密" in reply and "提交" in reply and "5分钟" in reply


def test_voice_keeps_the_audio_and_uses_recognition(harness):
    harness.fake.add_media("VOICE-1", b"#!AMR\n" + b"\x00" * 200, content_type="audio/amr")
    reply = harness.say(msg.voice(WORKER, "VOICE-1", recognition="配电箱漏电了"))
    assert "已收到语音" in reply
    harness.say(msg.text(WORKER, "提交"))
    harness.run_jobs()
    with harness.services.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert "[语音] 配电箱漏电了" in case.text
        media = s.scalars(select(Media)).one()
        assert media.kind == "voice" and media.status == "stored"


def test_voice_without_recognition_still_makes_a_case(harness):
    harness.fake.add_media("VOICE-2", b"#!AMR\n" + b"\x01" * 100, content_type="audio/amr")
    harness.say(msg.voice(WORKER, "VOICE-2", recognition=""))
    assert "案件编号" in harness.say(msg.text(WORKER, "提交"))


@pytest.mark.parametrize("kind", ["video", "shortvideo"])
def test_video_kinds_join_the_draft(harness, kind):
    xml = msg.message_xml(WORKER, kind, {"MediaId": f"V-{kind}", "ThumbMediaId": "T"})
    assert "已收到" in harness.say(xml)
    with harness.services.sessions() as s:
        assert s.scalars(select(Media)).one().kind == kind


def test_link_and_file_join_the_draft(harness):
    harness.say(
        msg.message_xml(WORKER, "link", {"Title": "厂区照片", "Description": "仓库", "Url": "http://x.example/1"})
    )
    harness.say(msg.message_xml(WORKER, "file", {"Title": "隐患清单.xlsx", "MediaId": "F-1"}))
    harness.say(msg.text(WORKER, "提交"))
    with harness.services.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert "厂区照片" in case.text and "[文件] 隐患清单.xlsx" in case.text


def test_location_only_cannot_be_submitted(harness):
    harness.say(msg.location(WORKER, 29.86, 118.43, label="某厂"))
    assert "只有位置" in harness.say(msg.text(WORKER, "提交"))


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("HELP", "怎样举报"),
        ("MY_CASES", "还没有提交过"),
        ("REPORT", "请直接发送"),
        ("SUBMIT", "没有待提交"),
        ("SOMETHING_ELSE", "怎样举报"),
    ],
)
def test_menu_clicks(harness, key, expected):
    assert expected in harness.say(msg.event(WORKER, "CLICK", key))


def test_menu_submit_submits_the_open_draft(harness):
    harness.say(msg.text(WORKER, "楼梯间堆满纸箱"))
    assert "案件编号" in harness.say(msg.event(WORKER, "CLICK", "SUBMIT"))


def test_location_events_are_silent_and_fill_a_missing_place(harness):
    harness.say(msg.text(WORKER, "地沟有人下去没人监护"))
    xml = msg.message_xml(
        WORKER, "event", {"Event": "LOCATION", "Latitude": "29.9", "Longitude": "118.4", "Precision": "30"}
    )
    assert harness.say(xml) == ""
    assert harness.say(xml) == ""  # the same report repeated by the platform: deduplicated
    harness.say(msg.text(WORKER, "提交"))
    with harness.services.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.latitude == pytest.approx(29.9) and case.place is None
        assert len(s.scalars(select(InboundMessage).where(InboundMessage.kind == "event")).all()) == 1


def test_scan_of_a_qr_code_greets_a_follower(harness):
    assert "欢迎回来" in harness.say(msg.event(WORKER, "SCAN", "factory-12"))


def test_unsubscribe_drops_the_draft_and_says_nothing(harness):
    harness.say(msg.text(WORKER, "氧气瓶乙炔瓶放在一起"))
    assert harness.say(msg.event(WORKER, "unsubscribe")) == ""
    with harness.services.sessions() as s:
        assert s.scalars(select(Draft)).one().status == "cancelled"
        assert s.scalars(select(Reporter)).one().subscribed is False


@pytest.mark.parametrize("event", ["TEMPLATESENDJOBFINISH", "VIEW", "subscribe_msg_popup_event"])
def test_receipts_and_other_events_answer_success(harness, event):
    assert harness.say(msg.event(WORKER, event, "x")) == ""


def test_full_width_and_spaced_commands_are_understood(harness):
    harness.say(msg.text(WORKER, "车间里电动车充电"))
    assert "案件编号" in harness.say(msg.text(WORKER, " 提 交 ".replace(" ", "") + "！"))
    reply = harness.say(msg.text(WORKER, "ＨＥＬＰ"))
    assert "怎样举报" in reply
