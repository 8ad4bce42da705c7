"""Whole stories of the closed loop, through the webhook, a real RQ worker and the fake WeChat API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.wechat import messages as msg
from storage.cases import events_of
from storage.models import Case, Media, OutboxMessage
from tests.support.images import jpeg_bytes
from tests.support.staff import staffed_sections

WORKER = "oWorker-story-0001"
WANG = "oInspector-Wang"  # 工业股 inspector
LI = "oHead-Li"  # 工业股 head
ZHOU = "oInspector-Zhou"  # 商务股 inspector
ZHAO = "oLeader-Zhao"

SECTIONS = staffed_sections(wang=WANG, li=LI, zhou=ZHOU)


@pytest.fixture
def harness_overrides():
    return {"sections": SECTIONS, "bureau.leaders": [ZHAO]}


def texts_to(harness, openid):
    return [m.text for m in harness.fake.sent_messages(openid) if m.text]


def report(harness, text, who=WORKER, photo=None):
    if photo:
        harness.fake.add_media(photo, jpeg_bytes((120, 90)), content_type="image/jpeg")
        harness.say(msg.image(who, photo))
    harness.say(msg.text(who, text))
    done = harness.say(msg.text(who, "提交"))
    return re.search(r"案件编号：(\S+)", done).group(1)


def staff_says(harness, who, text):
    return harness.say(msg.text(who, text))


def test_a_report_travels_the_whole_loop_and_the_reporter_hears_every_step(harness):
    staff_says(harness, WANG, "帮助")  # inspectors open their own 48-hour window by writing to the account
    ref = report(harness, "宏达机械二车间配电箱门坏了，电线裸露", photo="STORY-1")
    harness.run_jobs()

    card = texts_to(harness, WANG)
    assert len(card) == 1 and ref in card[0] and "宏达机械" in card[0] and "electrical" in card[0]
    images = [m for m in harness.fake.sent_messages(WANG) if not m.text]
    assert len(images) == 1  # the photo's thumbnail follows the card

    assert "已完成" in staff_says(harness, WANG, f"受理 {ref}")
    assert "问题已转给举报人" in staff_says(harness, WANG, f"问{ref} 具体是哪台配电箱？")
    harness.run_jobs()
    assert any("已受理" in t for t in texts_to(harness, WORKER))
    assert any("具体是哪台配电箱" in t for t in texts_to(harness, WORKER))

    assert "已转告" in harness.say(msg.text(WORKER, "靠近东门那台，门一直开着"))
    harness.run_jobs()
    assert any("靠近东门那台" in t and ref in t for t in texts_to(harness, WANG))

    assert "已限期整改" in staff_says(harness, WANG, f"期限 {ref} 15天")
    assert "整改情况已记录" in staff_says(harness, WANG, f"整改 {ref} 已更换配电箱门并加锁")
    harness.fake.add_media("FIX-1", jpeg_bytes((100, 80), (20, 200, 20)), content_type="image/jpeg")
    assert "整改照片" in harness.say(msg.image(WANG, "FIX-1"))
    harness.run_jobs()
    worker_heard = texts_to(harness, WORKER)
    assert any("限期整改" in t for t in worker_heard) and any("企业已整改" in t for t in worker_heard)

    # Two days pass without the worker writing: the closing notice must wait for the 48-hour window.
    harness.clock.advance(49 * 3600)
    staff_says(harness, WANG, f"办结 {ref} 现场验收合格")
    harness.run_jobs()
    assert not any("已办结" in t for t in texts_to(harness, WORKER))
    with harness.services.sessions() as s:
        held = s.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "held", OutboxMessage.reporter_id.is_not(None))
        ).all()
        assert len(held) == 1 and "48-hour" in held[0].last_error and "已办结" in held[0].body

    # The worker writes again: the held update is delivered, and their "没有" reopens the case.
    harness.say(msg.text(WORKER, "我的举报"))
    harness.run_jobs()
    assert any("已办结" in t and "真的消除了吗" in t for t in texts_to(harness, WORKER))
    assert "重新交办" in harness.say(msg.text(WORKER, "没有"))
    harness.run_jobs()
    assert any("仍未消除" in t for t in texts_to(harness, WANG))

    with harness.services.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.status == "rectifying"
        steps = [e.to_status for e in events_of(s, case.id)]
        assert steps[0] == "submitted" and "accepted" in steps and "rectified" in steps
        assert steps.index("accepted") < steps.index("rectifying") < steps.index("rectified") < steps.index("closed")
        assert steps[-1] == "rectifying"
        fix = s.scalars(select(Media).where(Media.purpose == "rectification")).one()
        assert fix.status == "stored" and fix.case_id == case.id
    for openid in (WANG, LI, ZHOU, ZHAO):
        assert all(WORKER not in t for t in texts_to(harness, openid))


def test_commands_are_checked_against_section_and_state(harness):
    ref = report(harness, "宏达机械冲床的光电保护被拆了")
    harness.run_jobs()
    assert "不在您的股室" in staff_says(harness, ZHOU, f"受理 {ref}")
    assert "不能改为" in staff_says(harness, WANG, f"办结 {ref}")
    assert "请在编号后写上理由" in staff_says(harness, WANG, f"不予受理 {ref}")
    assert "没有找到案件" in staff_says(harness, WANG, "受理 AQ-19990101-0001")
    assert "已完成" in staff_says(harness, ZHAO, f"受理 {ref}")  # a bureau leader may act on any section's case
    assert "没有这个股室" in staff_says(harness, WANG, f"转派 {ref} 财务股")


def test_reassign_moves_the_case_and_tells_the_new_section(harness):
    staff_says(harness, ZHOU, "待办")
    ref = report(harness, "宏达机械仓库货架超载变形")
    harness.run_jobs()
    assert "已转派商务股" in staff_says(harness, WANG, f"转派 {ref} 商务股")
    harness.run_jobs()
    assert any(ref in t for t in texts_to(harness, ZHOU))
    assert "已完成" in staff_says(harness, ZHOU, f"受理{ref}")


def test_rejection_objection_within_ten_days_reopens_the_check(harness):
    ref = report(harness, "宏达机械车间地面有油")
    harness.run_jobs()
    staff_says(harness, WANG, f"不予受理 {ref} 现场核实地面已清理")
    harness.run_jobs()
    assert any("不予受理" in t and "现场核实地面已清理" in t for t in texts_to(harness, WORKER))
    harness.clock.advance(3 * 86400)
    reply = harness.say(msg.text(WORKER, f"异议 {ref} 第二天又有油了"))
    assert "重新核查" in reply
    with harness.services.sessions() as s:
        assert s.scalars(select(Case)).one().status == "verifying"


def test_objection_after_ten_days_is_refused(harness):
    ref = report(harness, "宏达机械车间地面有油")
    harness.run_jobs()
    staff_says(harness, WANG, f"不予受理 {ref} 不属实")
    harness.clock.advance(11 * 86400)
    assert "异议期" in harness.say(msg.text(WORKER, f"异议 {ref} 还是有油"))


def test_confirmed_major_hazard_makes_the_first_reporter_eligible_for_a_reward(harness):
    ref = report(harness, "宏达机械除尘器泄爆片被拆了")
    harness.run_jobs()
    with harness.services.sessions() as s:
        assert s.scalars(select(Case)).one().major is True
    assert "已确认为重大事故隐患" in staff_says(harness, WANG, f"确认重大 {ref}")
    harness.run_jobs()
    assert any("举报奖励" in t and "查询码" in t for t in texts_to(harness, WORKER))
    with harness.services.sessions() as s:
        assert s.scalars(select(Case)).one().reward_eligible is True


def test_verification_extends_once_with_the_reason_sent(harness):
    ref = report(harness, "宏达机械行车钢丝绳断丝")
    harness.run_jobs()
    staff_says(harness, WANG, f"受理 {ref}")
    assert "延长30天" in staff_says(harness, WANG, f"延期 {ref} 30 需要第三方检测")
    assert "不能再延期" in staff_says(harness, WANG, f"延期 {ref} 10 还要等")

    harness.run_jobs()
    assert any("需要第三方检测" in t for t in texts_to(harness, WORKER))


def test_an_invitation_code_binds_a_new_inspector(harness):
    from bot.staffing import invite

    code = invite(harness.services, "commerce", role="inspector", days=7)
    assert "绑定成功" in harness.say(msg.text("oNewInspector", f"绑定 {code.lower()}"))
    assert "无效" in harness.say(msg.text("oSomeoneElse", f"绑定 {code}"))  # one time only
    assert "本股室目前没有" in harness.say(msg.text("oNewInspector", "待办"))


def test_extension_is_limited_to_the_configured_days(harness):
    ref = report(harness, "宏达机械行车钢丝绳断丝")
    harness.run_jobs()
    staff_says(harness, WANG, f"受理 {ref}")
    assert "最多30天" in staff_says(harness, WANG, f"延期 {ref} 45 需要检测")


def test_possible_major_hazards_come_first_and_jump_the_queue(harness):
    staff_says(harness, WANG, "帮助")
    ordinary = report(harness, "宏达机械车间灯不亮")
    major = report(harness, "宏达机械除尘器泄爆片被拆了", who="oWorker-2")
    harness.run_jobs()
    listing = staff_says(harness, WANG, "待办")
    assert listing.index(major) < listing.index(ordinary) and "⚠" in listing
    with harness.services.sessions() as s:
        flagged = s.scalars(select(OutboxMessage).where(OutboxMessage.priority.is_(True))).all()
        assert flagged and all(m.case_id is not None for m in flagged)
    assert any("可能重大隐患" in t and major in t for t in texts_to(harness, WANG))


def test_deadline_forms_are_understood(harness):
    ref = report(harness, "宏达机械配电箱没有门")
    harness.run_jobs()
    staff_says(harness, WANG, f"受理 {ref}")
    assert "没看懂期限" in staff_says(harness, WANG, f"期限 {ref} 下周")
    assert "已经过去" in staff_says(harness, WANG, f"期限 {ref} 2020-01-01")
    assert "已限期整改" in staff_says(harness, WANG, f"期限 {ref} 12月31日")
    with harness.services.sessions() as s:
        due = s.scalars(select(Case)).one().rectify_deadline
        local = due.astimezone(harness.settings.timezone)
        assert (local.month, local.day, local.hour) == (12, 31, 23)


def test_leaders_see_the_campaign_figures(harness):
    report(harness, "宏达机械除尘器泄爆片被拆了")
    report(harness, "万佳超市安全出口被锁", who="oWorker-3")
    harness.run_jobs()
    figures = staff_says(harness, ZHAO, "统计")
    assert "共收到举报2件" in figures and "可能重大隐患1件" in figures and "工业股" in figures


def test_inspectors_see_their_own_section_figures_only(harness):
    report(harness, "宏达机械除尘器泄爆片被拆了")
    report(harness, "万佳超市安全出口被锁", who="oWorker-3")
    harness.run_jobs()
    figures = staff_says(harness, ZHOU, "统计")
    assert "共收到举报1件" in figures and "工业股" not in figures


def test_a_photo_in_answer_to_a_question_reaches_the_case_and_the_inspector_hears_of_it(harness):
    staff_says(harness, WANG, "帮助")
    ref = report(harness, "宏达机械配电箱门坏了")
    harness.run_jobs()
    staff_says(harness, WANG, f"问 {ref} 能拍张照片吗？")
    harness.run_jobs()
    harness.fake.add_media("ANSWER-PHOTO", jpeg_bytes((90, 60)), content_type="image/jpeg")
    assert "已转告" in harness.say(msg.image(WORKER, "ANSWER-PHOTO"))
    harness.run_jobs()
    assert any("补充了照片" in t and ref in t for t in texts_to(harness, WANG))
    with harness.services.sessions() as s:
        photo = s.scalars(select(Media).where(Media.platform_media_id == "ANSWER-PHOTO")).one()
        assert photo.status == "stored" and photo.case_id is not None
    assert "照片：1张" in staff_says(harness, WANG, f"查看 {ref}")
