"""Confidentiality: inspectors and logs never see a reporter's openid; the identity is sealed at rest with the key
from the configuration; every unsealing is audited; an inspector acts only on the cases of their own section."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.logs import JsonFormatter
from bot.services import identity_secret
from bot.wechat import messages as msg
from storage.identity import IdentityError, IdentityVault
from storage.models import Base, Case, CaseEvent, IdentityAccess, OutboxMessage, Reporter
from tests.hostile.common import (
    LI,
    OVERRIDES,
    REPORTERS,
    STAFF,
    WANG,
    WORKER_A,
    WORKER_B,
    ZHAO,
    ZHOU,
    case_by_ref,
    report,
    say,
)
from tests.support.harness import IDENTITY_KEY
from tests.support.images import jpeg_bytes

EVERYONE = (*REPORTERS, *STAFF)
# The fake platform is the other side of the wire (WeChat itself): its own records are not the service's logs.
PLATFORM_LOGGERS = ("bot.wechat.fake_api",)


@pytest.fixture
def harness_overrides():
    return OVERRIDES


def full_story(harness) -> str:
    """Report with a photo, triage, accept, ask, answer, deadline, rectified with a photo, close, reopen."""
    say(harness, WANG, "帮助")
    say(harness, LI, "待办")
    say(harness, ZHAO, "统计")
    harness.fake.add_media("CONF-1", jpeg_bytes((400, 300)), content_type="image/jpeg")
    harness.say(msg.image(WORKER_A, "CONF-1"))
    ref = report(harness, WORKER_A, "宏达机械二车间配电箱门坏了，电线裸露")
    harness.run_jobs()
    assert "已完成" in say(harness, WANG, f"受理 {ref}")
    assert "问题已转给举报人" in say(harness, WANG, f"问{ref} 具体是哪台配电箱?")
    harness.run_jobs()
    assert "已转告" in say(harness, WORKER_A, "靠近东门那台")
    harness.run_jobs()
    say(harness, WANG, f"期限 {ref} 15天")
    say(harness, WANG, f"整改 {ref} 已更换配电箱门")
    harness.fake.add_media("CONF-FIX", jpeg_bytes((300, 200), (10, 200, 10)), content_type="image/jpeg")
    harness.say(msg.image(WANG, "CONF-FIX"))
    say(harness, WANG, f"办结 {ref} 现场验收合格")
    harness.run_jobs()
    say(harness, WORKER_A, "没有")
    say(harness, WORKER_A, f"查询 {ref}")
    report(harness, WORKER_B, "百佳超市后门安全出口被锁")
    harness.run_jobs()
    return ref


# --- (a) logs ----------------------------------------------------------------------------------------------------


def test_no_openid_in_any_log_line(harness, caplog):
    caplog.set_level(logging.DEBUG)
    full_story(harness)
    harness.post(msg.text(WORKER_A, "x"), timestamp="1")  # a refused request is logged too
    harness.post(msg.text("o" * 300, "x"))
    formatter = JsonFormatter()
    lines = []
    for record in caplog.records:
        if record.name.startswith(PLATFORM_LOGGERS):
            continue
        lines.append(formatter.format(record))
        lines.append(record.getMessage())
        lines.append(json.dumps({k: str(v) for k, v in vars(record).items()}, ensure_ascii=False))
    assert len(lines) > 30
    leaked = [(openid, line[:300]) for line in lines for openid in EVERYONE if openid in line]
    assert not leaked


# --- (b) what inspectors receive ----------------------------------------------------------------------------------


def test_inspectors_never_receive_a_reporter_openid(harness):
    full_story(harness)
    to_staff = [m for m in harness.fake.sent_messages() if m.openid in STAFF]
    assert len(to_staff) >= 4
    for sent in to_staff:
        blob = json.dumps(sent.to_dict(), ensure_ascii=False)
        for openid in REPORTERS:
            assert openid not in blob
        if sent.media_id:
            image = harness.fake.uploaded_media(sent.media_id)
            assert all(openid.encode() not in image for openid in REPORTERS)
            assert b"Exif" not in image[:200]
    assert {m.openid for m in to_staff} >= {WANG}


# --- (c) nothing in clear at rest ---------------------------------------------------------------------------------


def as_texts(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return [raw.decode("latin-1"), raw.decode("utf-8", "replace"), raw.hex(), base64.b64encode(raw).decode()]
    if isinstance(value, dict | list):
        return [json.dumps(value, ensure_ascii=False), json.dumps(value)]
    return [str(value)]


def test_no_openid_in_clear_in_any_table_redis_or_file(harness, tmp_path):
    full_story(harness)
    found = []
    with harness.services.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(table.select()).all()
            for row in rows:
                for column, value in zip(table.columns.keys(), row, strict=True):
                    for text in as_texts(value):
                        found += [(table.name, column, o) for o in EVERYONE if o in text]
    assert not found
    with harness.services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Reporter)) >= 2
        assert s.scalar(select(func.count()).select_from(CaseEvent)) >= 5

    redis = harness.services.redis
    for key in redis.scan_iter(count=500):
        dump = redis.dump(key) or b""
        assert all(o.encode() not in key + dump for o in EVERYONE), key
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert all(o.encode() not in data for o in EVERYONE), path


# --- (d) sealed with the configured key ----------------------------------------------------------------------------


def test_reporter_openids_are_sealed_with_the_configured_key(harness):
    report(harness, WORKER_A, "宏达机械车间灯不亮")
    with harness.services.sessions() as s:
        reporter = s.scalars(select(Reporter)).one()
        sealed, digest = reporter.sealed_openid, reporter.digest
    assert WORKER_A.encode() not in sealed and WORKER_A not in digest
    assert harness.services.vault.open(sealed) == WORKER_A
    for other in (b"\x00" * 32, b"k" * 31 + b"j", b"K" * 32):
        with pytest.raises(IdentityError):
            IdentityVault(other).open(sealed)
    with pytest.raises(IdentityError):
        harness.services.vault.open(sealed[:-1] + bytes([sealed[-1] ^ 1]))  # tampered
    assert IdentityVault(b"\x00" * 32).digest(WORKER_A) != digest
    assert harness.services.vault.seal(WORKER_A) != harness.services.vault.seal(WORKER_A)  # fresh nonce


def test_the_identity_key_comes_from_the_environment(harness, tmp_path):
    repo = Path(__file__).resolve().parents[2]
    other_key = base64.b64encode(b"e" * 32).decode()
    base = {"storage.dir": str(tmp_path / "elsewhere"), "media.dir": str(tmp_path / "m")}
    from_env = load_settings(
        repo / "config.toml", environ={"WHISTLE_SECURITY__IDENTITY_KEY": IDENTITY_KEY}, overrides=base
    )
    assert identity_secret(from_env) == base64.b64decode(IDENTITY_KEY)
    wrong = load_settings(repo / "config.toml", environ={"WHISTLE_SECURITY__IDENTITY_KEY": other_key}, overrides=base)
    report(harness, WORKER_A, "宏达机械车间灯不亮")
    with harness.services.sessions() as s:
        sealed = s.scalars(select(Reporter)).one().sealed_openid
    assert IdentityVault(identity_secret(from_env)).open(sealed) == WORKER_A
    with pytest.raises(IdentityError):
        IdentityVault(identity_secret(wrong)).open(sealed)


# --- (e) every unsealing is audited --------------------------------------------------------------------------------


def access_rows(harness) -> list[IdentityAccess]:
    with harness.services.sessions() as s:
        rows = list(s.scalars(select(IdentityAccess).order_by(IdentityAccess.id)))
        for row in rows:
            s.expunge(row)
        return rows


def reporter_attempts(harness) -> int:
    with harness.services.sessions() as s:
        return s.scalar(
            select(func.coalesce(func.sum(OutboxMessage.attempts), 0)).where(OutboxMessage.reporter_id.is_not(None))
        )


def test_every_unsealing_of_a_reporter_is_audited_once_per_delivery_attempt(harness):
    full_story(harness)
    rows = access_rows(harness)
    assert rows and len(rows) == reporter_attempts(harness)
    assert all(r.purpose and r.reporter_id for r in rows)
    with harness.services.sessions() as s:
        reporter_ids = set(s.scalars(select(Reporter.id)))
    assert {r.reporter_id for r in rows} <= reporter_ids
    delivered = [m for m in harness.fake.sent_messages() if m.openid in REPORTERS]
    assert len(rows) == len(delivered)


def test_failed_and_held_deliveries_are_audited_only_when_the_openid_was_opened(harness):
    say(harness, WANG, "帮助")  # his window is open: his card goes out at once, not when he next writes
    ref = report(harness, WORKER_A, "宏达机械冲床光电保护被拆了")
    harness.run_jobs()
    before = len(access_rows(harness))
    harness.fake.inject("custom_send", errcode=40003)  # invalid openid: a permanent failure after unsealing
    say(harness, WANG, f"受理 {ref}")
    harness.run_jobs()
    after_failure = access_rows(harness)
    assert len(after_failure) == before + 1 and after_failure[-1].purpose
    harness.clock.advance(49 * 3600)  # outside the 48-hour window: held without opening the sealed openid
    say(harness, WANG, f"问 {ref} 在哪个车间?")
    harness.run_jobs()
    assert len(access_rows(harness)) == before + 1
    with harness.services.sessions() as s:
        statuses = [m.status for m in s.scalars(select(OutboxMessage).where(OutboxMessage.reporter_id.is_not(None)))]
    assert "failed" in statuses and "held" in statuses
    assert len(access_rows(harness)) == reporter_attempts(harness)


# --- (f) sections ------------------------------------------------------------------------------------------------

FOREIGN_ACTS = [
    "受理 {ref}",
    "问 {ref} 是哪一台?",
    "办结 {ref} 已整改",
    "查看 {ref}",
    "{ref}",
    "核查 {ref}",
    "不予受理 {ref} 不属实",
    "期限 {ref} 15天",
    "整改 {ref} 已整改",
    "延期 {ref} 10 检测",
    "转派 {ref} 商务股",
    "移交 {ref} 市场监督管理局",
    "重复 {ref} AQ-19991231-0001",
    "确认重大 {ref}",
    "排除重大 {ref} 不是",
]


@pytest.mark.parametrize("act", FOREIGN_ACTS)
def test_an_inspector_cannot_act_on_another_sections_case(harness, act):
    secret_text = "宏达机械冲床光电保护被拆了 机密细节七号"
    ref = report(harness, WORKER_A, secret_text)
    harness.run_jobs()
    case = case_by_ref(harness, ref)
    assert case.section_id == "industry"
    with harness.services.sessions() as s:
        events_before = s.scalar(select(func.count()).select_from(CaseEvent))
        outbox_before = s.scalar(select(func.count()).select_from(OutboxMessage))

    reply = say(harness, ZHOU, act.format(ref=ref))
    assert reply == f"{ref} 属于工业股，不在您的股室。如需调整，请联系该股室或办公室转派。"

    after = case_by_ref(harness, ref)
    for column in ("status", "section_id", "major", "question", "rectify_deadline", "verify_due_at", "extended"):
        assert getattr(after, column) == getattr(case, column), column
    with harness.services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CaseEvent)) == events_before
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == outbox_before
    assert ZHOU not in {m.openid for m in harness.fake.sent_messages() if "机密细节七号" in m.text}


def test_the_other_sections_list_does_not_show_the_case(harness):
    ref = report(harness, WORKER_A, "宏达机械冲床光电保护被拆了")
    harness.run_jobs()
    assert ref not in say(harness, ZHOU, "待办")
    assert ref in say(harness, WANG, "待办")
    assert ref in say(harness, ZHAO, "待办")  # bureau leaders see every section


def test_rectification_photos_cannot_be_attached_to_another_sections_case(harness):
    ref = report(harness, WORKER_A, "宏达机械冲床光电保护被拆了")
    harness.run_jobs()
    say(harness, WANG, f"受理 {ref}")
    assert "不在您的股室" in say(harness, ZHOU, f"整改 {ref} 已整改")
    harness.fake.add_media("ZHOU-PHOTO", jpeg_bytes((60, 40)), content_type="image/jpeg")
    reply = harness.say(msg.image(ZHOU, "ZHOU-PHOTO"))
    assert "整改照片" not in reply
    with harness.services.sessions() as s:
        assert s.scalars(select(Case)).one().status == "accepted"
