"""Hostile commands from reporters and inspectors: SQL and script injection, path traversal, odd Unicode.

Text is data: it is stored verbatim, comes back inside well-formed XML, and never reaches a query, a path or another
user's conversation. Two reporters each have a case; whatever A or an inspector of the other section types, their
replies never carry B's case beyond echoing a reference they typed themselves.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select

from bot.reports import show_report
from bot.wechat import messages as msg
from handlers.commands import normalize
from storage.media_store import MediaStore
from storage.models import Base, Case, CaseEvent, InboundMessage, Media, OutboxMessage
from tests.hostile.common import (
    OVERRIDES,
    REPORTERS,
    STAFF,
    WANG,
    WORKER_A,
    WORKER_B,
    case_by_ref,
    reply_text,
    report,
    say,
)
from tests.support.images import jpeg_bytes

MARK_A = "标记甲-宏达冲床"
MARK_B = "标记乙-百佳后门"


@pytest.fixture
def harness_overrides():
    return OVERRIDES


@pytest.fixture
def two_cases(harness):
    """A's case (宏达机械: 工业股) and B's case (百佳超市: 商务股), triaged and routed."""
    ref_a = report(harness, WORKER_A, f"宏达机械冲床的光电保护被拆了 {MARK_A}")
    ref_b = report(harness, WORKER_B, f"百佳超市后门安全出口被锁 {MARK_B}")
    harness.run_jobs()
    assert case_by_ref(harness, ref_a).section_id == "industry"
    assert case_by_ref(harness, ref_b).section_id == "commerce"
    return ref_a, ref_b


def table_counts(harness) -> dict[str, int]:
    with harness.services.sessions() as s:
        names = set(inspect(s.get_bind()).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} <= names
        return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def assert_no_leak_of_b(reply: str, ref_b: str) -> None:
    assert MARK_B not in reply
    assert WORKER_B not in reply
    if ref_b in reply:  # only ever the echo of a reference the sender typed, refused
        assert "没有找到" in reply or "不在您的股室" in reply or "并入" in reply, reply
        assert "当前状态" not in reply


# --- SQL injection ---------------------------------------------------------------------------------------------

SQL_TAILS = ["' OR '1'='1", "'; DROP TABLE cases;--", '" OR 1=1 --', "') UNION SELECT sealed_openid FROM reporters--"]


def test_sql_injection_in_reporter_queries_finds_nothing_and_breaks_nothing(harness, two_cases):
    ref_a, ref_b = two_cases
    before = table_counts(harness)
    for tail in SQL_TAILS:
        for text in (
            f"查询 {ref_b}{tail}",
            f"查询 AQ-20261130-0001{tail}",
            f"查询 {tail}",
            f"{ref_b}{tail}",
            f"异议 {ref_b} {tail}",
            f"查询 {ref_b} {tail}",
        ):
            reply = say(harness, WORKER_A, text)
            assert_no_leak_of_b(reply, ref_b)
    assert "当前状态" in say(harness, WORKER_A, f"查询 {ref_a}' OR '1'='1")  # their own case, the tail ignored
    after = table_counts(harness)
    assert after["cases"] == before["cases"] == 2
    assert after["reporters"] == before["reporters"]
    assert case_by_ref(harness, ref_b).status == "submitted"


def test_sql_injection_in_inspector_commands_is_stored_as_text(harness, two_cases):
    ref_a, ref_b = two_cases
    assert "没有找到案件" in say(harness, WANG, "受理 AQ-19991231-0001; DROP TABLE cases;--")
    assert "不在您的股室" in say(harness, WANG, f"受理 {ref_b}; DROP TABLE cases;--")
    assert "已完成" in say(harness, WANG, f"受理 {ref_a}; DROP TABLE cases;--")
    assert "已完成" in say(harness, WANG, f"问 {ref_a} ' OR '1'='1 是哪台冲床?")
    assert table_counts(harness)["cases"] == 2
    with harness.services.sessions() as s:
        notes = [e.note for e in s.scalars(select(CaseEvent).order_by(CaseEvent.id))]
    assert "; DROP TABLE cases;--" in notes
    assert any("' OR '1'='1 是哪台冲床?" in n for n in notes)
    assert case_by_ref(harness, ref_b).status == "submitted"


# --- script injection ------------------------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
XML_BREAKOUT = "]]></Content><MsgType>evil</MsgType><Content><![CDATA["


def test_script_in_a_tip_is_stored_verbatim_and_shown_as_text(harness):
    say(harness, WANG, "帮助")  # opens the inspector's 48-hour window
    tip = f"宏达机械冲床 {SCRIPT} {XML_BREAKOUT} &lt;b&gt;"
    assert reply_text(harness.post(msg.text(WORKER_A, tip)))
    ref = reply_text(harness.post(msg.text(WORKER_A, "提交")))
    harness.run_jobs()
    with harness.services.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.text == tip
        inbound = [m.payload.get("content") for m in s.scalars(select(InboundMessage))]
        assert tip in inbound
    cards = [m.text for m in harness.fake.sent_messages(WANG) if m.text]
    assert cards and tip in cards[0]
    assert "案件编号" in ref


def test_script_as_an_inspector_question_and_note_reaches_the_reporter_verbatim(harness, two_cases):
    ref_a, _ = two_cases
    question = f"{SCRIPT}{XML_BREAKOUT}哪台？"
    assert "问题已转给举报人" in say(harness, WANG, f"问 {ref_a} {question}")
    harness.run_jobs()
    heard = [m.text for m in harness.fake.sent_messages(WORKER_A)]
    # inspector commands are read NFKC-folded, so the full-width "？" arrives as "?"; the markup arrives untouched
    assert any(normalize(question) in t for t in heard)
    answer = f"<img src=x onerror=alert(1)> {XML_BREAKOUT}"
    assert "已转告" in say(harness, WORKER_A, answer)
    harness.run_jobs()
    assert any(answer in m.text for m in harness.fake.sent_messages(WANG))
    note = f'<a href="javascript:alert(1)">{SCRIPT}</a>'
    say(harness, WANG, f"受理 {ref_a}")
    assert "不予受理" in say(harness, WANG, f"不予受理 {ref_a} {note}")
    with harness.services.sessions() as s:
        notes = [e.note for e in s.scalars(select(CaseEvent).order_by(CaseEvent.id))]
    assert note in notes


def test_xml_breakout_in_an_echoed_location_label_stays_inside_content(harness):
    label = f"{XML_BREAKOUT}{SCRIPT}"
    reply = reply_text(harness.post(msg.location(WORKER_A, 29.8, 118.4, label=label)))  # checks the five fields
    assert label in reply


# --- path traversal ------------------------------------------------------------------------------------------

TRAVERSALS = [
    "../../etc/passwd",
    "/etc/passwd",
    "..\\..\\windows\\win.ini",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "file:///etc/passwd",
    "....//....//etc/passwd",
]


def all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("media_id", TRAVERSALS)
def test_media_ids_with_path_traversal_never_touch_the_disk(harness, tmp_path, media_id):
    before = all_files(tmp_path)
    reply = reply_text(harness.post(msg.image(WORKER_A, media_id)))
    assert "照片" in reply
    harness.run_jobs()
    with harness.services.sessions() as s:
        media = s.scalars(select(Media)).one()
        assert media.platform_media_id == media_id
        assert media.status == "expired" and "40007" in (media.error or "")
        assert media.path is None
    media_root = Path(harness.services.media.root)
    assert not (media_root.exists() and all_files(media_root))
    assert not any(p.name == "passwd" or "etc" in p.parts for p in all_files(tmp_path) - before)


@pytest.mark.parametrize("media_id", TRAVERSALS[:3])
def test_served_media_with_traversal_ids_and_filenames_is_stored_inside_the_root(harness, media_id):
    harness.fake.add_media(media_id, jpeg_bytes((40, 30)), content_type="image/jpeg")
    harness.fake.add_media(media_id + "v", b"#!AMR\n" + b"\x00" * 64, content_type="audio/amr", filename=media_id)
    harness.post(msg.image(WORKER_A, media_id))
    harness.post(msg.voice(WORKER_A, media_id + "v", recognition="声音"))
    harness.run_jobs()
    root = Path(harness.services.media.root).resolve()
    with harness.services.sessions() as s:
        rows = list(s.scalars(select(Media)))
    assert [m.status for m in rows] == ["stored", "stored"]
    for media in rows:
        for relative in filter(None, (media.path, media.thumbnail_path)):
            assert (root / relative).resolve().is_relative_to(root)
            assert ".." not in relative and not relative.startswith("/")
    assert all(p.resolve().is_relative_to(root) for p in all_files(root))


def test_the_media_store_refuses_paths_outside_its_root(tmp_path):
    store = MediaStore(tmp_path / "media")
    relative = store.put(b"data", "/../../../../tmp/evil")
    assert relative.endswith(".bin") and (tmp_path / "media" / relative).is_file()
    for bad in ("../../etc/passwd", "/etc/passwd", "aa/../../../etc/passwd"):
        with pytest.raises(ValueError):
            store.path(bad)


@pytest.mark.parametrize("reference", ["../../etc/passwd", "/etc/passwd", "AQ-%", "%", "' OR '1'='1", "*"])
def test_reports_show_with_a_hostile_reference_finds_nothing(harness, two_cases, reference):
    with harness.services.sessions() as s:
        assert show_report(s, reference) is None


# --- odd Unicode -----------------------------------------------------------------------------------------------

ODD = [
    "\u202e宏达机械\u202c 冲床",  # right-to-left override
    "宏\u200b达\u200d机\u200c械\ufeff",  # zero-width characters
    "🔥🧯⚠️ 宏达机械车间着火隐患 👷‍♂️",  # emoji and a ZWJ sequence
    "Z̸̡̛a̶͔l̷g̵o̸ 宏达机械",  # combining marks
    "提\u200b交",  # not the command
    "\u00a0\u3000提交\u3000",  # NBSP and ideographic space: the command
    "ｑｕｅｒｙ\u3000ＡＱ－２０２６１１３０－０００１",  # full-width query
]


@pytest.mark.parametrize("text", ODD)
def test_odd_unicode_is_stored_verbatim_and_answered_in_valid_xml(harness, text):
    reply = reply_text(harness.post(msg.text(WORKER_A, text)))
    assert reply
    with harness.services.sessions() as s:
        stored = [m.payload.get("content") for m in s.scalars(select(InboundMessage))]
    assert stored == [text.strip()]


def test_nul_cannot_travel_in_xml_and_is_refused(harness):
    response = harness.post(msg.text(WORKER_A, "宏达\x00机械"))
    assert response.status_code == 400
    with harness.services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_an_overlong_tip_is_kept_whole(harness):
    tip = "宏达机械配电箱" * 2800  # ~59 kB of UTF-8, just under the body limit
    assert len(msg.text(WORKER_A, tip).encode()) < harness.settings.webhook_max_body_bytes
    say(harness, WORKER_A, tip)
    assert "案件编号" in say(harness, WORKER_A, "提交")
    with harness.services.sessions() as s:
        assert s.scalars(select(Case)).one().text == tip


# --- the property: free text from a reporter and from an inspector ---------------------------------------------

FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
xml_text = st.text(st.characters(blacklist_categories=["Cs", "Cc", "Cn"]) | st.sampled_from("\t\n"), max_size=40)
WORDS = [
    "查询",
    "查",
    "query",
    "异议",
    "提交",
    "取消",
    "我的举报",
    "受理",
    "不予受理",
    "问",
    "办结",
    "查看",
    "整改",
    "期限",
    "延期",
    "转派",
    "移交",
    "重复",
    "确认重大",
    "排除重大",
    "待办",
    "统计",
    "绑定",
    "没有",
    "已消除",
]


def reference_forms(ref: str) -> list[str]:
    prefix, day, seq = ref.split("-")
    fullwidth = ref.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    return [ref, ref.lower(), f"{prefix}{day}{seq}", f"{prefix} - {day} - {seq}", fullwidth, f"{prefix}-{day}-{seq}0"]


@st.composite
def free_text(draw: st.DrawFn, refs: list[str]) -> str:
    if draw(st.integers(0, 3)) == 0:
        return draw(xml_text)
    word = draw(st.sampled_from(WORDS))
    ref = draw(st.sampled_from([f for r in refs for f in reference_forms(r)] + ["AQ-20261130-0001", ""]))
    tail = draw(xml_text | st.sampled_from([*SQL_TAILS, SCRIPT, XML_BREAKOUT, "商务股", "15天", "30 检测"]))
    sep = draw(st.sampled_from(["", " ", "：", "\u3000", "\u200b"]))
    return f"{word}{sep}{ref} {tail}"


def test_free_text_never_crosses_between_users(harness, two_cases):
    ref_a, ref_b = two_cases
    say(harness, WANG, "帮助")

    @FUZZ
    @given(text=free_text([ref_a, ref_b]), as_inspector=st.booleans())
    def property(text: str, as_inspector: bool) -> None:
        sender = WANG if as_inspector else WORKER_A
        response = harness.post(msg.text(sender, text))
        reply = reply_text(response)  # a defined answer; 200 replies are well-formed XML with one Content
        for openid in (*REPORTERS, *STAFF):
            assert openid not in reply
        assert_no_leak_of_b(reply, ref_b)
        # B's case is the commerce section's: nobody in this conversation can act on it
        assert case_by_ref(harness, ref_b).status == "submitted"

    property()
    harness.run_jobs()
    for openid in (WORKER_A, WANG):
        for sent in harness.fake.sent_messages(openid):
            assert MARK_B not in sent.text and WORKER_B not in sent.text
    with harness.services.sessions() as s:
        to_a = s.scalars(select(OutboxMessage).where(OutboxMessage.reporter_id.is_not(None))).all()
        assert all(MARK_B not in m.body for m in to_a)
    assert table_counts(harness)["cases"] >= 2
