"""Property tests: whatever bytes arrive, the only failure the caller sees is PhotoRejected."""

from __future__ import annotations

from typing import get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.media.photos import PhotoLimits, PhotoRejected, ProcessedPhoto, Reason, process_photo
from tests.media.images import encode, exif_with, scene

# Small limits keep each example fast while still exercising every code path: the 48x36 JPEG seeds are
# decoded at libjpeg's half scale (24 lies in [native_min_side, max_side]), the others are resampled to 32.
LIMITS = PhotoLimits(max_bytes=256 * 1024, max_pixels=2_000_000, max_side=32, native_min_side=20, thumb_side=16)

_SCENE = scene(99, (48, 36))
SEEDS = [
    encode(_SCENE, "JPEG", quality=80, exif=exif_with(orientation=6, taken="2024:05:01 09:30:00")),
    encode(_SCENE, "JPEG", quality=80, progressive=True),
    encode(_SCENE, "PNG"),
    encode(_SCENE.convert("RGBA"), "PNG"),
    encode(_SCENE.convert("P"), "GIF"),
    encode(_SCENE, "WEBP", quality=70),
]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(data: bytes) -> ProcessedPhoto | PhotoRejected:
    try:
        return process_photo(data, LIMITS)
    except PhotoRejected as exc:
        assert exc.reason in get_args(Reason)
        assert exc.message and exc.message_zh
        return exc


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_only_ever_raise_photo_rejected(data: bytes) -> None:
    outcome(data)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@FUZZ
@given(damaged())
def test_damaged_real_images_only_ever_raise_photo_rejected(data: bytes) -> None:
    result = outcome(data)
    if isinstance(result, ProcessedPhoto):
        assert max(result.width, result.height) <= LIMITS.max_side
        assert result.image.startswith(b"\xff\xd8") and result.thumbnail.startswith(b"\xff\xd8")
        assert len(result.phash) == 16
