"""Hostile photo files through the whole pipeline: webhook, download job (real RQ worker), fake platform serving them.

Whatever a worker's phone sends, the media row ends rejected (or failed) with a reason, the case is submitted and
triaged without it, the worker goes on with later jobs, and nothing of a rejected file is written to the media store.
"""

from __future__ import annotations

import io
import random
import re
import struct
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select

from bot.wechat import messages as msg
from storage.models import Case, Media
from tests.hostile.common import ErrorCollector
from tests.support.images import jpeg_bytes


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int, idat: bytes, *, bit_depth: int = 8, colour: int = 2) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def bomb_png() -> bytes:
    """Declares 30000 x 30000 RGB (2.7 GB decoded); carries a few kB of compressed zero rows."""
    return png(30000, 30000, zlib.compress(b"\x00" * (1 + 30000 * 3) * 4, 9))


def huge_png() -> bytes:
    """A complete, valid 8000 x 8000 one-bit PNG: 64 megapixels (over the 50 MP limit), under 10 kB on the wire."""
    row = b"\x00" + b"\x00" * 1000
    return png(8000, 8000, zlib.compress(row * 8000, 9), bit_depth=1, colour=0)


def truncated_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    return data[: len(data) // 2]


HOSTILE = {
    "truncated-jpeg": (truncated_jpeg, "image/jpeg"),
    "bomb-png-30000": (bomb_png, "image/png"),
    "text-named-jpg": (lambda: b"This is not a photo.\n" * 20, "image/jpeg"),
    "huge-dimensions": (huge_png, "image/png"),
    "random-bytes": (lambda: random.Random(7).randbytes(6000), "image/jpeg"),
    "empty": (lambda: b"", "image/jpeg"),
    "html-error-page": (lambda: b"<html><body>502 Bad Gateway</body></html>", "image/jpeg"),
    "jpeg-magic-then-garbage": (lambda: b"\xff\xd8\xff\xe0" + random.Random(3).randbytes(2000), "image/jpeg"),
}
EXPECTED_REASON = {
    "truncated-jpeg": "truncated",
    "bomb-png-30000": "too_many_pixels",
    "text-named-jpg": "not_an_image",
    "huge-dimensions": "too_many_pixels",
}


@pytest.fixture
def harness_overrides():
    return {"media.max_bytes": 256 * 1024}


def stored_files(harness) -> list[Path]:
    root = Path(harness.services.media.root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def report_with_photo(harness, who: str, media_id: str, text: str) -> str:
    harness.say(msg.image(who, media_id))
    harness.say(msg.text(who, text))
    done = harness.say(msg.text(who, "提交"))
    return re.search(r"案件编号：(\S+)", done).group(1)


def media_rows(harness) -> list[Media]:
    with harness.services.sessions() as s:
        rows = list(s.scalars(select(Media).order_by(Media.id)))
        for row in rows:
            s.expunge(row)
        return rows


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_photo_is_rejected_and_the_case_goes_on(harness, name):
    make, content_type = HOSTILE[name]
    harness.fake.add_media(f"HOSTILE-{name}", make(), content_type=content_type, filename="hazard.jpg")
    with ErrorCollector() as errors:
        reference = report_with_photo(harness, "oPhoto-Worker", f"HOSTILE-{name}", "宏达机械二车间配电箱门坏了")
        harness.run_jobs()

    (media,) = media_rows(harness)
    assert media.status in ("rejected", "failed"), (media.status, media.error)
    assert media.error
    if name in EXPECTED_REASON:
        assert media.error.startswith(EXPECTED_REASON[name]), media.error
    assert media.path is None and media.thumbnail_path is None
    assert stored_files(harness) == []
    assert not errors.records, errors.describe()

    with harness.services.sessions() as s:
        case = s.scalars(select(Case).where(Case.reference == reference)).one()
        assert case.status == "submitted" and case.triage_status == "done"

    # The worker is alive and well: the next report's photo is downloaded, cleaned and stored.
    harness.fake.add_media("GOOD-1", jpeg_bytes((640, 480)), content_type="image/jpeg")
    report_with_photo(harness, "oPhoto-Worker-2", "GOOD-1", "万佳超市安全出口被锁")
    harness.run_jobs()
    good = media_rows(harness)[-1]
    assert good.status == "stored" and good.path and good.thumbnail_path
    files = stored_files(harness)
    assert len(files) == 2 and all(f.suffix == ".jpg" for f in files)


def test_a_decompression_bomb_is_refused_before_decoding(harness):
    harness.fake.add_media("BOMB", bomb_png(), content_type="image/png")
    report_with_photo(harness, "oPhoto-Bomb", "BOMB", "宏达机械车间")
    started = time.perf_counter()
    harness.run_jobs()
    assert time.perf_counter() - started < 5  # 2.7 GB were never allocated
    (media,) = media_rows(harness)
    assert media.status == "rejected" and media.error.startswith("too_many_pixels")


def test_a_photo_over_the_byte_limit_is_rejected_unread(harness):
    limit = harness.settings.media_max_bytes
    harness.fake.add_media("BIG", b"\xff\xd8\xff" + b"\x00" * (limit + 1), content_type="image/jpeg")
    report_with_photo(harness, "oPhoto-Big", "BIG", "宏达机械车间")
    harness.run_jobs()
    (media,) = media_rows(harness)
    assert media.status == "rejected" and media.error.startswith("too_large")
    assert stored_files(harness) == []


def test_many_hostile_photos_in_one_draft_leave_the_others_alone(harness):
    for name, (make, content_type) in HOSTILE.items():
        harness.fake.add_media(name, make(), content_type=content_type)
        harness.say(msg.image("oPhoto-Many", name))
    harness.fake.add_media("GOOD-2", jpeg_bytes((640, 480), (20, 200, 20)), content_type="image/jpeg")
    harness.say(msg.image("oPhoto-Many", "GOOD-2"))
    harness.say(msg.text("oPhoto-Many", "提交"))
    harness.run_jobs()
    rows = media_rows(harness)
    assert [m.status for m in rows[:-1]] == ["rejected"] * len(HOSTILE)
    assert rows[-1].status == "stored"
    assert len(stored_files(harness)) == 2
    with harness.services.sessions() as s:
        assert s.scalars(select(Case)).one().triage_status == "done"


FUZZ = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SEED = jpeg_bytes((64, 48))


@st.composite
def damaged_photos(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=3000))
    data = bytearray(SEED)
    for _ in range(draw(st.integers(1, 12))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@FUZZ
@given(data=damaged_photos())
def test_arbitrary_bytes_as_a_photo_never_stop_the_worker(harness, data):
    media_id = f"FUZZ-{zlib.crc32(data)}-{len(data)}"
    harness.fake.add_media(media_id, data, content_type="image/jpeg")
    with ErrorCollector() as errors:
        harness.say(msg.image("oPhoto-Fuzz", media_id))
        harness.run_jobs()
    with harness.services.sessions() as s:
        media = s.scalars(select(Media).where(Media.platform_media_id == media_id)).first()
        assert media is not None
        assert media.status in ("stored", "rejected", "failed", "expired"), media.status
        if media.status == "stored":
            assert media.path and (Path(harness.services.media.root) / media.path).read_bytes()[:2] == b"\xff\xd8"
        else:
            assert media.error and media.path is None
    assert not errors.records, errors.describe()
