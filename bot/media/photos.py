"""Safe processing of untrusted hazard photos.

Workers send photos from their phones; the bytes are hostile until proven otherwise. ``process_photo``:

* refuses empty / oversized input before any parser sees it;
* lets only the JPEG, PNG, WebP and GIF parsers of Pillow look at the bytes (``Image.open(formats=...)``),
  so Pillow's other plugins (EPS, PSD, TIFF, ...) are never reached with worker data;
* refuses images whose declared width x height exceeds ``PhotoLimits.max_pixels`` *before* decoding, so a
  decompression bomb never gets its bitmap allocated; Pillow's own DecompressionBombWarning/Error are
  turned into the same rejection locally (Pillow's process-wide ``MAX_IMAGE_PIXELS`` is left alone, so
  the effective limit is ``min(max_pixels, Image.MAX_IMAGE_PIXELS)``);
* reads capture time and GPS from EXIF, then stores and shows only re-encoded pixels: the outputs carry
  no EXIF, XMP, IPTC, ICC profile or comment;
* applies the EXIF orientation, resizes to a display copy and a phone thumbnail, and computes a 64-bit
  difference hash (dHash) for near-duplicate detection.

Every failure of a broken or hostile file surfaces as :class:`PhotoRejected` with a machine-readable
``reason``; nothing else escapes for bad input.

Decisions:

* Output is always JPEG (display copy and thumbnail). Transparent PNG/GIF/WebP pixels are composited
  onto white: hazard photos gain nothing from alpha, and one content type is simpler for storage and
  for re-sending through WeChat.
* The ICC profile is dropped, not converted. Feeding an attacker-chosen profile to the colour engine is
  avoidable attack surface, and a profile can carry device-identifying text. Wide-gamut photos (e.g.
  Display P3 from iPhones) therefore look slightly less saturated; acceptable for evidence photos.
* ``taken_at`` is EXIF DateTimeOriginal as a *naive* datetime: the phone's local wall-clock time as the
  camera wrote it. OffsetTimeOriginal is not applied (many phones omit it); callers that need an
  instant should interpret it in the deployment's local timezone (Asia/Shanghai).
* ``original_width``/``original_height`` are the original's dimensions *as displayed*, i.e. after the
  EXIF orientation is applied, so they have the same aspect ratio as ``width``/``height``.
* GPS (0, 0) is treated as absent: phones write it as a placeholder when they have no fix.
* Orientation is applied with the same transposes ``ImageOps.exif_transpose`` uses, but after resizing,
  which is cheaper than rotating the full-size bitmap.

* Shrink on load: libjpeg can decode a JPEG at 1/2, 1/4 or 1/8 scale (``draft``), averaging in the DCT
  domain, which costs a fraction of a full decode followed by resampling. When one of those scales has a
  longest side between ``native_min_side`` (2000) and ``max_side`` (2560), that decode *is* the display
  copy: a 12 MP phone photo (4000x3000) is stored as 2000x1500, a 48 MP one (8000x6000) also as
  2000x1500. That is a little less than 2560, and well above what a phone screen or WeChat's own image
  compression shows; in exchange the photo is processed in about a third of the time (see
  bench/photo_bench.py). Other photos are decoded at the smallest native scale still at least
  ``max_side`` and resampled down to it.
* The resampled display copy uses area averaging (``Image.Resampling.BOX``, antialiased). For the usual
  1.2-2x reduction of a phone photo it looks as good as bicubic at about half the cost; the thumbnail
  uses bicubic.

Threading and speed: each call uses one short-lived helper thread. It hashes the bytes while the caller's
thread decodes, resizes (and rotates) the lower half of a large picture while the caller's thread does
the upper half, and makes the thumbnail while the display copy is encoded; hashlib and Pillow release the
GIL for this work. ``warnings.catch_warnings`` changes process-global state, so call ``process_photo``
from one thread at a time per process (RQ workers are processes).
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import struct
import warnings
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

Reason = Literal["empty", "too_large", "not_an_image", "unsupported_format", "too_many_pixels", "truncated", "corrupt"]

ALLOWED_FORMATS: Final = ("JPEG", "PNG", "WEBP", "GIF")
# Pillow's JPEG opener reports multi-picture JPEGs (depth maps, phone extras) as "MPO"; they are JPEG files.
_FORMAT_ALIASES: Final = {"MPO": "JPEG"}

# Display copy: area averaging. For the typical 1.2-2x reduction of a phone photo it is visibly as good as
# bicubic (no aliasing, no ringing) at less than half the cost, which keeps a 12 MP photo under budget.
DISPLAY_RESAMPLE: Final = Image.Resampling.BOX
THUMB_RESAMPLE: Final = Image.Resampling.BICUBIC
_WHITE: Final = (255, 255, 255)
_PARALLEL_MIN_PIXELS: Final = 4_000_000

_TAG_ORIENTATION: Final = 0x0112
_IFD_EXIF: Final = 0x8769
_IFD_GPS: Final = 0x8825
_TAG_DATETIME_ORIGINAL: Final = 0x9003
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4

# The same transposes ImageOps.exif_transpose applies for EXIF Orientation 2..8.
_ORIENTATION_TRANSPOSE: Final[dict[int, Image.Transpose]] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES: Final = frozenset(_ORIENTATION_TRANSPOSE[o] for o in (5, 6, 7, 8))

_MESSAGES_ZH: Final[dict[str, str]] = {
    "empty": "收到的照片是空文件，请重新拍摄后发送。",
    "too_large": "照片文件太大，请压缩后再发送。",
    "not_an_image": "收到的文件不是照片，请直接发送照片。",
    "unsupported_format": "暂不支持这种图片格式（如 HEIC），请在相机设置中选择“兼容性最佳”或发送截图。",
    "too_many_pixels": "照片像素过大，无法处理，请缩小后再发送。",
    "truncated": "照片没有传完整，请重新发送。",
    "corrupt": "照片文件已损坏，无法打开，请重新发送。",
}

# Magic numbers of image formats we recognise but do not accept (only consulted after Pillow failed).
_OTHER_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"\xff\x0a", "JPEG XL"),
    (b"qoif", "QOI"),
    (b"BM", "BMP"),
)
_ISOBMFF_BRANDS: Final[dict[bytes, str]] = {
    **dict.fromkeys((b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"), "HEIC"),
    **dict.fromkeys((b"avif", b"avis"), "AVIF"),
}


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 50_000_000  # refuse above this before decoding (decompression bombs)
    max_side: int = 2560  # longest side of the stored (display) copy
    # A JPEG that libjpeg can decode at 1/2, 1/4 or 1/8 scale to a longest side of at least this (and at most
    # max_side) is stored at that scale without resampling: a 12 MP photo (4000x3000) becomes 2000x1500.
    native_min_side: int = 2000
    thumb_side: int = 320
    jpeg_quality: int = 85

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_side", "native_min_side", "thumb_side"):
            if getattr(self, name) < 1:
                raise ValueError(f"PhotoLimits.{name} must be positive")
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError("PhotoLimits.jpeg_quality must be in 1..95")


DEFAULT_LIMITS: Final = PhotoLimits()


@dataclass(frozen=True)
class ProcessedPhoto:
    image: bytes  # JPEG, oriented, longest side <= max_side, no metadata
    thumbnail: bytes  # JPEG, longest side <= thumb_side, no metadata
    width: int  # of `image`
    height: int
    original_width: int  # of the original, as displayed (orientation applied)
    original_height: int
    original_format: str  # "JPEG", "PNG", "WEBP" or "GIF"
    phash: str  # 16 hex chars: 64-bit difference hash of the oriented picture
    taken_at: datetime | None  # EXIF DateTimeOriginal, naive camera-local time
    gps: tuple[float, float] | None  # (lat, lon) decimal degrees
    sha256: str  # of the original bytes


class PhotoRejected(Exception):
    """A photo that cannot be processed; ``reason`` is machine-readable, ``message_zh`` is for the worker."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason: Reason = reason
        self.message = message

    @property
    def message_zh(self) -> str:
        return _MESSAGES_ZH[self.reason]

    def __reduce__(self) -> tuple[type[PhotoRejected], tuple[Reason, str]]:
        return (PhotoRejected, (self.reason, self.message))


@dataclass(frozen=True)
class _Metadata:
    orientation: int
    taken_at: datetime | None
    gps: tuple[float, float] | None


def process_photo(data: bytes | bytearray | memoryview, limits: PhotoLimits = DEFAULT_LIMITS) -> ProcessedPhoto:
    """Validate, clean and downsize one photo; raise PhotoRejected for anything broken or hostile."""
    raw = _check_size(data, limits)
    # One helper thread per call: it hashes while this thread decodes, then takes half of the resize and
    # makes the thumbnail while this thread encodes (hashlib and Pillow release the GIL for that work).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="photo") as helper:
        digest = helper.submit(_sha256, raw)
        try:
            with _pillow_warnings():
                return _process(raw, limits, helper, digest)
        except PhotoRejected:
            raise
        except Exception as exc:
            raise _classify(exc, raw) from exc


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two 16-hex-char perceptual hashes."""
    return (_parse_hash(a) ^ _parse_hash(b)).bit_count()


# --- pipeline -------------------------------------------------------------------------------------


def _check_size(data: bytes | bytearray | memoryview, limits: PhotoLimits) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"process_photo needs bytes, not {type(data).__name__}")
    raw = bytes(data)
    if not raw:
        raise PhotoRejected("empty", "the file is empty")
    if len(raw) > limits.max_bytes:
        raise PhotoRejected("too_large", f"{len(raw)} bytes exceeds the limit of {limits.max_bytes}")
    return raw


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _process(raw: bytes, limits: PhotoLimits, helper: Executor, digest: Future[str]) -> ProcessedPhoto:
    img = Image.open(io.BytesIO(raw), formats=ALLOWED_FORMATS)
    original_format = _checked_format(img)
    width, height = img.size
    _check_pixels(width, height, limits)
    if original_format == "JPEG":
        # libjpeg scales by 1/2, 1/4 or 1/8 while decoding, far cheaper than decoding in full and resampling.
        img.draft("RGB", _draft_request(img.size, limits))
    img.load()
    meta = _read_metadata(img)
    display = _display_copy(_to_rgb(img), _fit(img.size, limits.max_side), meta.orientation, helper)
    display.info = {}  # before anything else reads it concurrently; see _encode_jpeg
    pending_thumb = helper.submit(_thumbnail, display, limits.thumb_side)
    image = _encode_jpeg(display, limits.jpeg_quality)
    thumb = pending_thumb.result()
    if meta.orientation in (5, 6, 7, 8):
        width, height = height, width
    return ProcessedPhoto(
        image=image,
        thumbnail=_encode_jpeg(thumb, limits.jpeg_quality),
        width=display.width,
        height=display.height,
        original_width=width,
        original_height=height,
        original_format=original_format,
        phash=_dhash(thumb),
        taken_at=meta.taken_at,
        gps=meta.gps,
        sha256=digest.result(),
    )


@contextmanager
def _pillow_warnings() -> Iterator[None]:
    """Turn decompression-bomb warnings into errors; keep Pillow's other warnings out of the caller's way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        finally:
            for warning in caught:
                log.debug("pillow warning while processing a photo: %s", warning.message)


def _checked_format(img: Image.Image) -> str:
    fmt = _FORMAT_ALIASES.get(img.format or "", img.format or "")
    if fmt not in ALLOWED_FORMATS:
        raise PhotoRejected("unsupported_format", f"format {fmt or 'unknown'} is not accepted")
    return fmt


def _check_pixels(width: int, height: int, limits: PhotoLimits) -> None:
    if width < 1 or height < 1:
        raise PhotoRejected("corrupt", f"invalid dimensions {width}x{height}")
    if width * height > limits.max_pixels:
        raise PhotoRejected("too_many_pixels", f"{width}x{height} exceeds the limit of {limits.max_pixels} pixels")


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    """Size scaled down (never up) so that the longest side is at most ``side``."""
    width, height = size
    scale = side / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _draft_request(size: tuple[int, int], limits: PhotoLimits) -> tuple[int, int]:
    """The size to ask libjpeg for: it decodes at the largest of 1/1, 1/2, 1/4, 1/8 that is at least this.

    A native scale whose longest side lands in ``[native_min_side, max_side]`` is kept as the display copy
    with no resampling at all (a 4000x3000 photo becomes 2000x1500); otherwise the smallest native scale
    still at least ``max_side`` is decoded and then resampled down to ``max_side``.
    """
    width, height = size
    for scale in (8, 4, 2):
        if limits.native_min_side <= -(-max(width, height) // scale) <= limits.max_side:
            return max(1, width // scale), max(1, height // scale)
    return _fit(size, limits.max_side)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # Pillow's direct conversion clips 16-bit values to 255 (an all-white picture); scale instead.
        return img.convert("I").point(lambda value: value / 256).convert("L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


def _display_copy(img: Image.Image, size: tuple[int, int], orientation: int, helper: Executor) -> Image.Image:
    """``img`` resized to ``size`` and then oriented; big images are done in two strips concurrently."""
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    big = img.width * img.height >= _PARALLEL_MIN_PIXELS and size[1] >= 2  # each strip needs a row
    if size != img.size and big and _usable_cpus() >= 2:
        return _resize_in_strips(img, size, method, helper)
    resized = img if size == img.size else img.resize(size, DISPLAY_RESAMPLE)
    return resized if method is None else resized.transpose(method)


def _resize_in_strips(
    img: Image.Image, size: tuple[int, int], method: Image.Transpose | None, helper: Executor
) -> Image.Image:
    """Resize (and transpose) two horizontal strips concurrently; Pillow releases the GIL for both.

    ``box`` lets the filter read source pixels across strip edges, so the result is pixel-identical to a
    single ``resize`` followed by ``transpose``.
    """
    width, height = size
    rows = [0, height // 2, height]
    y_scale = img.height / height

    def strip(i: int) -> Image.Image:
        top, bottom = rows[i], rows[i + 1]
        box = (0.0, top * y_scale, float(img.width), bottom * y_scale)
        part = img.resize((width, bottom - top), DISPLAY_RESAMPLE, box=box)
        return part if method is None else part.transpose(method)

    later = helper.submit(strip, 1)
    parts = [strip(0), later.result()]
    swapped = method in _SWAPS_AXES
    out = Image.new(img.mode, (height, width) if swapped else size, None)  # every pixel is pasted below
    for i, part in enumerate(parts):
        out.paste(part, _strip_origin(method, rows[i], rows[i + 1], height))
    return out


def _strip_origin(method: Image.Transpose | None, top: int, bottom: int, height: int) -> tuple[int, int]:
    """Where the strip of rows [top, bottom) of a ``height``-row image lands after ``method``."""
    if method in (Image.Transpose.ROTATE_180, Image.Transpose.FLIP_TOP_BOTTOM):
        return 0, height - bottom
    if method in (Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_90):
        return top, 0
    if method in (Image.Transpose.ROTATE_270, Image.Transpose.TRANSVERSE):
        return height - bottom, 0
    return 0, top


def _thumbnail(img: Image.Image, side: int) -> Image.Image:
    return img.resize(_fit(img.size, side), THUMB_RESAMPLE, reducing_gap=2.0)


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _encode_jpeg(img: Image.Image, quality: int) -> bytes:
    # Only pixels go out: no exif/icc_profile/xmp/comment arguments, and no inherited `info`
    # (Pillow re-emits a JPEG comment found in `info`).
    img.info = {}
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _dhash(img: Image.Image) -> str:
    """64-bit difference hash: 9x8 grey thumbnail, one bit per horizontally adjacent pair."""
    small = img.convert("L").resize((9, 8), Image.Resampling.BOX)
    pixels = small.tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            bits = (bits << 1) | int(left < right)
    return f"{bits:016x}"


def _parse_hash(value: str) -> int:
    if len(value) != 16:
        raise ValueError(f"not a 64-bit hex hash: {value!r}")
    return int(value, 16)


# --- failure classification ---------------------------------------------------------------------


def _classify(exc: Exception, raw: bytes) -> PhotoRejected:
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return PhotoRejected("too_many_pixels", str(exc))
    if isinstance(exc, UnidentifiedImageError):
        return _unidentified(raw)
    text = str(exc)
    if "truncated" in text.lower() or isinstance(exc, EOFError) or _riff_truncated(raw):
        return PhotoRejected("truncated", text or "the file ends early")
    if not isinstance(exc, OSError | SyntaxError | ValueError | struct.error | IndexError | TypeError):
        log.warning("unexpected error while decoding a photo", exc_info=exc)
    return PhotoRejected("corrupt", f"{type(exc).__name__}: {text}"[:200])


def _unidentified(raw: bytes) -> PhotoRejected:
    kind = _sniff(raw)
    if kind in ALLOWED_FORMATS:
        if _riff_truncated(raw):
            return PhotoRejected("truncated", f"the {kind} file ends early")
        return PhotoRejected("corrupt", f"looks like {kind} but its header cannot be read")
    if kind is not None:
        return PhotoRejected("unsupported_format", f"{kind} images are not accepted")
    return PhotoRejected("not_an_image", "the file is not a recognised image")


def _sniff(raw: bytes) -> str | None:
    if raw.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if raw.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if raw.startswith(b"RIFF") and raw[8:12] == b"WEBP":
        return "WEBP"
    if raw[4:8] == b"ftyp" and raw[8:12] in _ISOBMFF_BRANDS:
        return _ISOBMFF_BRANDS[raw[8:12]]
    return next((name for magic, name in _OTHER_MAGIC if raw.startswith(magic)), None)


def _riff_truncated(raw: bytes) -> bool:
    """WebP (RIFF) states its length up front, so a short file is recognisably truncated."""
    if not (raw.startswith(b"RIFF") and raw[8:12] == b"WEBP"):
        return False
    (declared,) = struct.unpack("<I", raw[4:8])
    return len(raw) < declared + 8


# --- metadata (read before it is thrown away; garbage means "absent", never a rejection) ----------


def _read_metadata(img: Image.Image) -> _Metadata:
    try:
        exif = img.getexif()
        orientation = exif.get(_TAG_ORIENTATION)
        taken = exif.get_ifd(_IFD_EXIF).get(_TAG_DATETIME_ORIGINAL)
        gps_ifd = exif.get_ifd(_IFD_GPS)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, struct.error) as exc:
        log.debug("unreadable EXIF ignored: %s", exc)
        return _Metadata(1, None, None)
    return _Metadata(
        orientation=orientation if isinstance(orientation, int) else 1,
        taken_at=parse_exif_datetime(taken),
        gps=parse_gps(gps_ifd),
    )


def parse_exif_datetime(value: object) -> datetime | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" (NULs/spaces tolerated) as a naive datetime, or None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    text = value.strip("\x00 ")[:19]
    for pattern in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern)  # naive on purpose: camera-local wall time
        except ValueError:
            continue
    return None


def parse_gps(gps: Any) -> tuple[float, float] | None:
    """(lat, lon) from an EXIF GPS IFD mapping; None for anything absent, malformed or out of range."""
    if not hasattr(gps, "get"):
        return None
    lat = _coordinate(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "N", "S", 90.0)
    lon = _coordinate(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "E", "W", 180.0)
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):
        return None
    return lat, lon


def _coordinate(value: object, ref: object, positive: str, negative: str, limit: float) -> float | None:
    sign = _ref_sign(ref, positive, negative)
    if sign is None or not isinstance(value, tuple | list) or not 1 <= len(value) <= 3:
        return None
    parts = [_number(part) for part in value]
    if any(part is None or part < 0 for part in parts):
        return None
    degrees, minutes, seconds = [*(p for p in parts if p is not None), 0.0, 0.0][:3]
    if minutes >= 60 or seconds >= 60:
        return None
    result = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(result) or result > limit:
        return None
    return sign * result


def _ref_sign(ref: object, positive: str, negative: str) -> float | None:
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if not isinstance(ref, str):
        return None
    letter = ref.strip("\x00 ").upper()
    return 1.0 if letter == positive else -1.0 if letter == negative else None


def _number(value: object) -> float | None:
    """An EXIF rational (IFDRational, int, float or (num, den)) as a finite float, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, tuple) and len(value) == 2:
        num, den = value
        if not isinstance(num, int) or not isinstance(den, int) or den == 0:
            return None
        value = num / den
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None
