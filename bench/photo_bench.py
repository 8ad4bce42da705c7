"""Benchmark: process_photo on a 12-megapixel phone-like JPEG against a plain Pillow baseline.

The baseline is what a naive implementation does to produce the same display copy: decode at full size,
resize to the size process_photo's output has, save as JPEG (no scaled decode, no orientation, no
metadata handling, no thumbnail, no hash).

Run: python bench/photo_bench.py [--runs 15]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.media.photos import DEFAULT_LIMITS, DISPLAY_RESAMPLE, PhotoLimits, process_photo

WIDTH, HEIGHT = 4000, 3000
TARGET_MS = 150
RESAMPLED = PhotoLimits(native_min_side=DEFAULT_LIMITS.max_side + 1)


def make_photo(width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """A photo-like JPEG: smooth gradients with sensor-like noise, EXIF with GPS and orientation."""
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.radial_gradient("L").resize((width, height))
    mirrored = red.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    blue = Image.blend(mirrored, Image.effect_noise((width, height), 40), 0.5)
    base = Image.merge("RGB", (red, green, blue))
    grain = Image.merge("RGB", [Image.effect_noise((width, height), 25) for _ in range(3)])
    photo = Image.blend(base, grain, 0.25)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Model X"
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 09:30:00"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (31.0, 13.0, 45.6), 3: "E", 4: (121.0, 28.0, 12.3)})
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=92, exif=exif)
    return buf.getvalue()


def baseline(data: bytes, longest_side: int) -> bytes:
    img = Image.open(io.BytesIO(data))
    img.load()
    scale = longest_side / max(img.size)
    small = img.resize((round(img.width * scale), round(img.height * scale)), DISPLAY_RESAMPLE)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=DEFAULT_LIMITS.jpeg_quality)
    return out.getvalue()


def measure(func: Callable[[bytes], object], data: bytes, runs: int) -> list[float]:
    func(data)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func(data)
        times.append((time.perf_counter() - start) * 1000)
    return times


def p90(times: list[float]) -> float:
    return statistics.quantiles(times, n=10, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    data = make_photo()
    result = process_photo(data)
    cpus = len(os.sched_getaffinity(0))
    print(f"input: {WIDTH}x{HEIGHT} JPEG q92 with EXIF, {len(data) / 1e6:.2f} MB; usable CPUs: {cpus}")
    print(
        f"output: {result.width}x{result.height} ({len(result.image) / 1e3:.0f} kB), "
        f"thumbnail {len(result.thumbnail) / 1e3:.1f} kB, gps={result.gps}, taken_at={result.taken_at}"
    )

    ours = measure(process_photo, data, args.runs)
    side = max(result.width, result.height)
    base = measure(lambda raw: baseline(raw, side), data, args.runs)
    # The same pipeline with the native-scale rule off: full decode, resampled to max_side (2560).
    resampled = measure(lambda raw: process_photo(raw, RESAMPLED), data, args.runs)
    print(f"{'':24}{'median ms':>10}{'p90 ms':>10}")
    print(f"{'process_photo':24}{statistics.median(ours):10.1f}{p90(ours):10.1f}")
    print(f"{'baseline':24}{statistics.median(base):10.1f}{p90(base):10.1f}")
    print(f"{'process_photo to 2560':24}{statistics.median(resampled):10.1f}{p90(resampled):10.1f}")
    ratio = statistics.median(ours) / statistics.median(base)
    print(f"ratio (process_photo / baseline, medians): {ratio:.2f}")
    print(f"baseline: full decode, {DISPLAY_RESAMPLE.name} resize to {side}, JPEG save")
    met = statistics.median(ours) < TARGET_MS
    print(f"target: median under {TARGET_MS} ms: {'met' if met else 'NOT met'}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
