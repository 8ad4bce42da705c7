"""Test images, all generated with Pillow at test time (no binary fixtures)."""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

RED = (220, 20, 20)
BLUE = (20, 20, 220)


def scene(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A photo-like RGB picture: a gradient sky, random blurred shapes and a little grain."""
    rng = random.Random(seed)
    width, height = size
    sky = Image.linear_gradient("L").resize(size)
    img = Image.merge("RGB", (sky, sky.transpose(Image.Transpose.FLIP_TOP_BOTTOM), Image.new("L", size, 120)))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = x0 + rng.randrange(width // 20 + 1, width // 2 + 2)
        y1 = y0 + rng.randrange(height // 20 + 1, height // 2 + 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(2))
    grain = Image.effect_noise(size, 12).convert("RGB")
    return Image.blend(img, grain, 0.08)


def halves(size: tuple[int, int] = (400, 200)) -> Image.Image:
    """Left half red, right half blue: shows where pixels went after a rotation."""
    img = Image.new("RGB", size, BLUE)
    ImageDraw.Draw(img).rectangle((0, 0, size[0] // 2 - 1, size[1]), fill=RED)
    return img


def encode(img: Image.Image, fmt: str = "JPEG", **params: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def exif_with(
    *,
    orientation: int | None = None,
    taken: str | None = None,
    gps: dict[int, Any] | None = None,
    make: str | None = None,
    model: str | None = None,
    software: str | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in ((0x0112, orientation), (0x010F, make), (0x0110, model), (0x0131, software)):
        if value is not None:
            exif[tag] = value
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken
    if gps is not None:
        exif.get_ifd(0x8825).update(gps)
    return exif


def png_header_only(width: int, height: int, *, colour_type: int = 2) -> bytes:
    """A PNG that declares ``width`` x ``height`` but carries (almost) no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b"")


def png_bomb(width: int, height: int) -> bytes:
    """A genuine, fully valid greyscale PNG of zeros: tiny on disk, huge once decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte + pixels
    rows_per_block = max(1, 4_000_000 // len(row))
    parts = []
    for start in range(0, height, rows_per_block):
        parts.append(compressor.compress(row * min(rows_per_block, height - start)))
    parts.append(compressor.flush())
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
