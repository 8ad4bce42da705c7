from __future__ import annotations

import hashlib
import io
import pickle
import random
from datetime import datetime

import pytest
from PIL import Image, ImageCms, ImageEnhance, ImageFile
from PIL.TiffImagePlugin import IFDRational

from bot.media import photos
from bot.media.photos import PhotoLimits, PhotoRejected, ProcessedPhoto, hamming, process_photo
from tests.media.images import BLUE, RED, encode, exif_with, halves, png_bomb, png_header_only, scene

GPS_SHANGHAI = {1: "N", 2: (31.0, 13.0, 45.6), 3: "E", 4: (121.0, 28.0, 12.3)}


def reject_reason(data: bytes, limits: PhotoLimits = photos.DEFAULT_LIMITS) -> str:
    with pytest.raises(PhotoRejected) as info:
        process_photo(data, limits)
    return info.value.reason


def reopen(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def assert_no_metadata(data: bytes) -> None:
    img = reopen(data)
    assert img.format == "JPEG"
    assert dict(img.getexif()) == {}
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile", "photoshop", "adobe", "mp"):
        assert key not in img.info, key
    assert not any(isinstance(key, str) and key.startswith("APP") for key in img.info)


def close_to(pixel: object, expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


# --- the happy path ---------------------------------------------------------------------------------


def test_plain_jpeg_is_processed() -> None:
    data = encode(scene(1, (1200, 900)), quality=90)
    photo = process_photo(data)
    assert isinstance(photo, ProcessedPhoto)
    assert (photo.width, photo.height) == (1200, 900)
    assert (photo.original_width, photo.original_height) == (1200, 900)
    assert photo.original_format == "JPEG"
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    assert photo.taken_at is None and photo.gps is None
    assert len(photo.phash) == 16 and int(photo.phash, 16) >= 0
    assert reopen(photo.image).size == (1200, 900)
    assert reopen(photo.thumbnail).size == (320, 240)
    assert_no_metadata(photo.image)
    assert_no_metadata(photo.thumbnail)


def test_large_photo_is_resized_to_max_side() -> None:
    data = encode(scene(2, (3000, 1500)), quality=85)
    photo = process_photo(data, PhotoLimits(max_side=1000, thumb_side=100))
    assert (photo.width, photo.height) == (1000, 500)
    assert reopen(photo.image).size == (1000, 500)
    assert reopen(photo.thumbnail).size == (100, 50)
    assert (photo.original_width, photo.original_height) == (3000, 1500)


def test_jpeg_draft_decode_still_reaches_max_side() -> None:
    # 5200 px is more than twice 2560, so libjpeg decodes at 1/2 scale; the result must still be 2560 wide.
    photo = process_photo(encode(scene(3, (5200, 2600)), quality=80))
    assert (photo.width, photo.height) == (2560, 1280)
    assert (photo.original_width, photo.original_height) == (5200, 2600)


def test_twelve_megapixel_jpeg_is_kept_at_half_scale_without_resampling() -> None:
    # 4000 / 2 = 2000 lies in [native_min_side, max_side]: libjpeg's 1/2-scale decode is the display copy.
    original = scene(5, (4000, 3000))
    photo = process_photo(encode(original, quality=85))
    assert (photo.width, photo.height) == (2000, 1500)
    assert (photo.original_width, photo.original_height) == (4000, 3000)
    # The DCT-domain half scale looks like an area-averaged half: same picture, no aliasing or shift.
    expected = original.reduce(2)
    diff = [abs(a - b) for a, b in zip(reopen(photo.image).tobytes(), expected.tobytes(), strict=True)]
    assert sum(diff) / len(diff) < 3


def test_native_scale_applies_to_rotated_and_larger_photos() -> None:
    turned = process_photo(encode(scene(6, (4000, 3000)), exif=exif_with(orientation=6), quality=80))
    assert (turned.width, turned.height) == (1500, 2000)
    assert (turned.original_width, turned.original_height) == (3000, 4000)
    # 48 MP: 8000 / 4 = 2000 fits, so the 1/4 scale is used rather than 1/2 resampled down to 2560.
    big = process_photo(encode(scene(7, (8000, 4000)), quality=80))
    assert (big.width, big.height) == (2000, 1000)


def test_photo_without_a_fitting_native_scale_is_resampled_to_max_side() -> None:
    # 3998 / 2 = 1999 is under native_min_side, so the photo is decoded in full and resampled to 2560.
    photo = process_photo(encode(scene(8, (3998, 2000)), quality=80))
    assert (photo.width, photo.height) == (2560, 1281)
    # A native_min_side above max_side turns the rule off: every big photo is resampled to max_side.
    limits = PhotoLimits(native_min_side=10_000)
    assert (process_photo(encode(scene(9, (4000, 3000)), quality=80), limits).width) == 2560


def test_native_scale_of_a_one_row_jpeg() -> None:
    # 1/8 of 20000 fits, but one row cannot be divided: libjpeg decodes what it can and the rest is resampled.
    photo = process_photo(encode(Image.linear_gradient("L").resize((20000, 1)).convert("RGB"), quality=80))
    assert (photo.width, photo.height) == (2560, 1)


def test_small_image_is_not_upscaled() -> None:
    photo = process_photo(encode(scene(4, (200, 100))))
    assert (photo.width, photo.height) == (200, 100)
    assert reopen(photo.thumbnail).size == (200, 100)


def test_one_pixel_image() -> None:
    photo = process_photo(encode(Image.new("RGB", (1, 1), RED), "PNG"))
    assert (photo.width, photo.height) == (1, 1)


def test_extreme_aspect_ratio_keeps_at_least_one_pixel() -> None:
    data = encode(Image.linear_gradient("L").resize((20000, 8)), "PNG")
    photo = process_photo(data)
    assert (photo.width, photo.height) == (2560, 1)
    assert reopen(photo.thumbnail).size == (320, 1)


# --- orientation ------------------------------------------------------------------------------------


def test_exif_orientation_6_is_applied() -> None:
    data = encode(halves((400, 200)), exif=exif_with(orientation=6), quality=95)
    photo = process_photo(data)
    assert (photo.width, photo.height) == (200, 400)
    assert (photo.original_width, photo.original_height) == (200, 400)
    out = reopen(photo.image).convert("RGB")
    # Rotating 90 degrees clockwise moves the stored left (red) half to the top.
    assert close_to(out.getpixel((100, 50)), RED)
    assert close_to(out.getpixel((100, 350)), BLUE)
    assert_no_metadata(photo.image)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillow_exif_transpose(orientation: int) -> None:
    from PIL import ImageOps

    data = encode(scene(5, (300, 200)), exif=exif_with(orientation=orientation), quality=95)
    expected = ImageOps.exif_transpose(reopen(data))
    out = reopen(process_photo(data).image)
    assert out.size == expected.size
    diff = [abs(a - b) for a, b in zip(out.convert("L").tobytes(), expected.convert("L").tobytes(), strict=True)]
    assert sum(diff) / len(diff) < 4


@pytest.mark.parametrize("orientation", range(1, 9))
def test_strip_resize_is_identical_to_a_single_resize(orientation: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos, "_PARALLEL_MIN_PIXELS", 1)
    monkeypatch.setattr(photos, "_usable_cpus", lambda: 2)
    img = scene(6, (301, 203))
    method = photos._ORIENTATION_TRANSPOSE.get(orientation)
    expected = img.resize((150, 101), photos.DISPLAY_RESAMPLE)
    if method is not None:
        expected = expected.transpose(method)
    with photos.ThreadPoolExecutor(max_workers=1) as helper:
        got = photos._display_copy(img, (150, 101), orientation, helper)
    assert got.size == expected.size
    assert got.tobytes() == expected.tobytes()


def test_one_row_output_with_the_parallel_path_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos, "_PARALLEL_MIN_PIXELS", 1)
    monkeypatch.setattr(photos, "_usable_cpus", lambda: 2)
    photo = process_photo(encode(Image.linear_gradient("L").resize((6000, 1)), "PNG"))
    assert (photo.width, photo.height) == (2560, 1)


def test_garbage_orientation_is_ignored() -> None:
    photo = process_photo(encode(halves(), exif=exif_with(orientation=99)))
    assert (photo.width, photo.height) == (400, 200)


# --- metadata ---------------------------------------------------------------------------------------


def test_gps_and_capture_time_are_read_and_all_metadata_is_stripped() -> None:
    exif = exif_with(
        taken="2024:05:01 09:30:15",
        gps=GPS_SHANGHAI,
        make="SecretPhoneMaker",
        model="Model-XYZ-123",
        software="Firmware 9.9",
    )
    exif[0xA431] = "SERIAL0042"  # BodySerialNumber
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/>SecretXmp</x:xmpmeta>'
    data = encode(scene(7), exif=exif, icc_profile=icc, xmp=xmp, comment=b"SecretComment", quality=90)
    assert reopen(data).info.get("comment") == b"SecretComment"  # the input really carries it

    photo = process_photo(data)
    assert photo.taken_at == datetime(2024, 5, 1, 9, 30, 15)
    assert photo.taken_at.tzinfo is None
    assert photo.gps is not None
    lat, lon = photo.gps
    assert lat == pytest.approx(31 + 13 / 60 + 45.6 / 3600)
    assert lon == pytest.approx(121 + 28 / 60 + 12.3 / 3600)
    for output in (photo.image, photo.thumbnail):
        assert_no_metadata(output)
        for secret in (b"SecretPhoneMaker", b"Model-XYZ", b"Firmware", b"SERIAL0042", b"Secret"):
            assert secret not in output
        assert b"Exif\x00\x00" not in output
        assert b"ICC_PROFILE" not in output


def test_south_west_coordinates_are_negative() -> None:
    gps = {1: "S", 2: (33.0, 52.0, 0.0), 3: "W", 4: (70.0, 30.0, 0.0)}
    photo = process_photo(encode(scene(8), exif=exif_with(gps=gps)))
    assert photo.gps == (pytest.approx(-(33 + 52 / 60)), pytest.approx(-70.5))


def test_zero_denominator_gps_in_a_real_file_means_no_gps() -> None:
    gps = {
        1: "N",
        2: (IFDRational(31, 0), IFDRational(0, 0), IFDRational(1, 0)),
        3: "E",
        4: (121.0, 0.0, 0.0),
    }
    photo = process_photo(encode(scene(9), exif=exif_with(gps=gps, taken="not a date")))
    assert photo.gps is None
    assert photo.taken_at is None


def test_corrupt_exif_block_is_ignored_not_fatal() -> None:
    photo = process_photo(encode(scene(10), exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff garbage"))
    assert photo.gps is None and photo.taken_at is None
    assert_no_metadata(photo.image)


@pytest.mark.parametrize(
    "gps",
    [
        None,
        "not a mapping",
        {},
        {1: "N", 2: (31.0, 0.0, 0.0)},  # no longitude
        {1: "N", 2: (IFDRational(31, 0), 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # zero denominator
        {1: "N", 2: ((31, 0), (0, 1), (0, 1)), 3: "E", 4: (121.0, 0.0, 0.0)},  # raw tuple, zero denominator
        {1: "X", 2: (31.0, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # bad reference
        {2: (31.0, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # missing reference
        {1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # latitude out of range
        {1: "N", 2: (31.0, 0.0, 0.0), 3: "E", 4: (181.0, 0.0, 0.0)},  # longitude out of range
        {1: "N", 2: (31.0, 75.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # 75 minutes
        {1: "N", 2: (-31.0, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # negative degrees
        {1: "N", 2: "31,0,0", 3: "E", 4: (121.0, 0.0, 0.0)},  # string
        {1: "N", 2: (31.0, 0.0, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # four parts
        {1: "N", 2: (float("nan"), 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},
        {1: "N", 2: (float("inf"), 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},
        {1: "N", 2: (True, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},
        {1: "N", 2: (None, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},
        {1: 7, 2: (31.0, 0.0, 0.0), 3: "E", 4: (121.0, 0.0, 0.0)},  # numeric reference
        {1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)},  # the no-fix placeholder
    ],
)
def test_garbage_gps_is_none(gps: object) -> None:
    assert photos.parse_gps(gps) is None


def test_gps_accepts_byte_references_and_decimal_degrees() -> None:
    gps = {1: b"S\x00", 2: (IFDRational(3325, 100),), 3: b"e", 4: [IFDRational(70, 1), (30, 1), 0]}
    assert photos.parse_gps(gps) == (pytest.approx(-33.25), pytest.approx(70.5))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024:05:01 09:30:15", datetime(2024, 5, 1, 9, 30, 15)),
        ("2024:05:01 09:30:15\x00", datetime(2024, 5, 1, 9, 30, 15)),
        (b"2023:12:31 23:59:59", datetime(2023, 12, 31, 23, 59, 59)),
        ("2024-05-01 09:30:15", datetime(2024, 5, 1, 9, 30, 15)),
        ("0000:00:00 00:00:00", None),
        ("2024:13:01 09:30:15", None),
        ("    :  :     :  :  ", None),
        ("", None),
        (20240501, None),
        (None, None),
    ],
)
def test_exif_datetime_parsing(value: object, expected: datetime | None) -> None:
    assert photos.parse_exif_datetime(value) == expected


# --- modes and formats ------------------------------------------------------------------------------


def test_png_transparency_is_flattened_onto_white_jpeg() -> None:
    img = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    img.paste(Image.new("RGBA", (100, 100), (*RED, 255)), (100, 0))
    photo = process_photo(encode(img, "PNG"))
    assert photo.original_format == "PNG"
    out = reopen(photo.image)
    assert out.format == "JPEG" and out.mode == "RGB"
    assert close_to(out.getpixel((40, 50)), (255, 255, 255), 10)
    assert close_to(out.getpixel((160, 50)), RED)


def test_palette_gif_with_transparency() -> None:
    img = Image.new("P", (60, 60), 0)
    img.putpalette([0, 0, 0, *RED] + [0] * 762)
    img.paste(1, (30, 0, 60, 60))
    photo = process_photo(encode(img, "GIF", transparency=0))
    out = reopen(photo.image)
    assert close_to(out.getpixel((10, 30)), (255, 255, 255), 10)
    assert close_to(out.getpixel((50, 30)), RED)


def test_cmyk_jpeg() -> None:
    img = Image.new("CMYK", (120, 80), (0, 255, 255, 0))  # red ink
    photo = process_photo(encode(img, "JPEG", quality=95))
    out = reopen(photo.image)
    assert out.mode == "RGB"
    assert close_to(out.getpixel((60, 40)), (255, 0, 0), 50)


def test_16_bit_png_is_scaled_not_clipped() -> None:
    ramp = Image.linear_gradient("L").rotate(90).resize((256, 64)).convert("I")
    img = ramp.point(lambda v: v * 257).convert("I;16")
    data = encode(img, "PNG")
    assert reopen(data).mode.startswith("I")
    out = reopen(process_photo(data).image).convert("L")
    left, right = out.getpixel((5, 32)), out.getpixel((250, 32))
    assert isinstance(left, int) and isinstance(right, int)
    assert left < 40 < 215 < right


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"])
def test_png_modes(mode: str) -> None:
    photo = process_photo(encode(scene(11, (64, 48)).convert(mode), "PNG"))
    assert reopen(photo.image).mode == "RGB"


def test_animated_gif_uses_first_frame() -> None:
    frames = [Image.new("RGB", (80, 60), RED), Image.new("RGB", (80, 60), BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(reopen(data), "n_frames", 1) == 2
    photo = process_photo(data)
    assert photo.original_format == "GIF"
    assert close_to(reopen(photo.image).getpixel((40, 30)), RED)


def test_webp() -> None:
    photo = process_photo(encode(scene(12, (300, 200)), "WEBP", quality=80))
    assert photo.original_format == "WEBP"
    assert (photo.width, photo.height) == (300, 200)


def test_multi_picture_jpeg_counts_as_jpeg() -> None:
    first, second = scene(13, (200, 150)), scene(14, (200, 150))
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    assert process_photo(data).original_format == "JPEG"


# --- rejections -------------------------------------------------------------------------------------


def test_empty() -> None:
    assert reject_reason(b"") == "empty"


def test_too_large_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(scene(15))
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("parsed an oversized file"))
    assert reject_reason(data, PhotoLimits(max_bytes=len(data) - 1)) == "too_large"


def test_exactly_max_bytes_is_fine() -> None:
    data = encode(scene(15))
    assert process_photo(data, PhotoLimits(max_bytes=len(data))).sha256


def test_random_bytes_named_jpg() -> None:
    data = random.Random(1234).randbytes(5000)
    assert photos._sniff(data) is None
    assert reject_reason(data) == "not_an_image"


def test_text_file() -> None:
    assert reject_reason("隐患：三楼消防通道堵塞\nhazard: blocked fire exit\n".encode()) == "not_an_image"


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100),
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(100),
        encode(scene(16, (64, 48)), "BMP"),
        encode(scene(16, (64, 48)), "TIFF"),
    ],
    ids=["heic", "avif", "bmp", "tiff"],
)
def test_other_image_formats_are_unsupported(data: bytes) -> None:
    assert reject_reason(data) == "unsupported_format"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated(fmt: str) -> None:
    data = encode(scene(17, (400, 300)), fmt)
    assert reject_reason(data[: len(data) // 2]) == "truncated"


def test_truncated_jpeg_is_not_loaded_leniently() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    data = encode(scene(18, (400, 300)), quality=90)
    assert reject_reason(data[: len(data) * 9 // 10]) == "truncated"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_corrupt_jpeg_body() -> None:
    data = bytearray(encode(scene(19, (400, 300)), quality=90))
    start = data.index(b"\xff\xda")  # start of scan
    data[start + 2 : start + 400] = b"\xff\x01" * 199
    assert reject_reason(bytes(data)) in {"corrupt", "truncated"}


def test_broken_header_of_a_known_format_is_corrupt() -> None:
    assert reject_reason(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40) == "corrupt"


def test_unexpected_internal_error_still_becomes_a_rejection(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(img: Image.Image) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(photos, "_read_metadata", explode)
    assert reject_reason(encode(scene(20))) == "corrupt"


# --- decompression bombs ----------------------------------------------------------------------------


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: ImageFile.ImageFile) -> None:
        raise AssertionError("a bomb was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (30000, 30000),  # beyond 2x Pillow's limit: Pillow itself raises DecompressionBombError
        (12000, 8000),  # between Pillow's limit and 2x: Pillow only warns (the warning must reject)
        (10000, 6000),  # below Pillow's limit, above ours
        (1_000_000, 60),  # huge side, modest area
    ],
)
def test_declared_bomb_is_refused_without_decoding(width: int, height: int, no_decoding: None) -> None:
    max_pixels_before = Image.MAX_IMAGE_PIXELS
    assert reject_reason(png_header_only(width, height)) == "too_many_pixels"
    assert max_pixels_before == Image.MAX_IMAGE_PIXELS


@pytest.fixture(scope="module")
def real_bomb() -> bytes:
    return png_bomb(8000, 7000)  # 56 megapixels of zeros


def test_real_compressed_bomb_is_refused_without_decoding(real_bomb: bytes, no_decoding: None) -> None:
    assert len(real_bomb) < 200_000
    assert reject_reason(real_bomb) == "too_many_pixels"


def test_pixel_limit_is_configurable() -> None:
    assert reject_reason(encode(scene(21, (100, 100))), PhotoLimits(max_pixels=9_999)) == "too_many_pixels"
    assert process_photo(encode(scene(21, (100, 100))), PhotoLimits(max_pixels=10_000)).width == 100


def test_pillow_bomb_warning_becomes_a_rejection_even_with_a_generous_limit(no_decoding: None) -> None:
    # 96 MP is under our (raised) limit but over Pillow's MAX_IMAGE_PIXELS, which only warns there.
    generous = PhotoLimits(max_pixels=200_000_000)
    assert reject_reason(png_header_only(12000, 8000), generous) == "too_many_pixels"


def test_bomb_warning_does_not_leak_out_or_change_global_filters() -> None:
    import warnings

    filters_before = list(warnings.filters)
    assert reject_reason(png_header_only(12000, 8000)) == "too_many_pixels"
    assert warnings.filters == filters_before


# --- perceptual hash --------------------------------------------------------------------------------


def test_phash_is_stable_under_reencoding_resizing_and_brightening() -> None:
    original = scene(30, (1200, 900))
    reference = process_photo(encode(original, quality=92)).phash
    variants = {
        "jpeg q50": encode(original, quality=50),
        "png": encode(original, "PNG"),
        "half size": encode(original.resize((600, 450)), quality=85),
        "webp": encode(original, "WEBP", quality=70),
        "brighter": encode(ImageEnhance.Brightness(original).enhance(1.08), quality=85),
        "rotated by exif": encode(
            original.transpose(Image.Transpose.ROTATE_90), exif=exif_with(orientation=6), quality=85
        ),
    }
    for name, data in variants.items():
        assert hamming(reference, process_photo(data).phash) <= 6, name


def test_phash_differs_for_different_pictures() -> None:
    hashes = [process_photo(encode(scene(seed, (800, 600)))).phash for seed in (40, 41, 42, 43)]
    for i, a in enumerate(hashes):
        for b in hashes[i + 1 :]:
            assert hamming(a, b) >= 16


def test_hamming() -> None:
    assert hamming("0" * 16, "0" * 16) == 0
    assert hamming("0" * 16, "f" * 16) == 64
    assert hamming("8000000000000001", "0000000000000000") == 2
    with pytest.raises(ValueError):
        hamming("abc", "0" * 16)
    with pytest.raises(ValueError):
        hamming("z" * 16, "0" * 16)


# --- the exception and the limits -------------------------------------------------------------------


@pytest.mark.parametrize("reason", sorted(photos._MESSAGES_ZH))
def test_rejection_carries_reason_and_both_languages(reason: photos.Reason) -> None:
    exc = PhotoRejected(reason, "an explanation")
    assert exc.reason == reason and exc.message == "an explanation"
    assert reason in str(exc)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.message_zh)
    clone = pickle.loads(pickle.dumps(exc))
    assert (clone.reason, clone.message) == (reason, "an explanation")


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        PhotoLimits(max_side=0)
    with pytest.raises(ValueError):
        PhotoLimits(jpeg_quality=100)


def test_non_bytes_input_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        process_photo("not bytes")  # type: ignore[arg-type]


def test_bytearray_and_memoryview_are_accepted() -> None:
    data = encode(scene(50, (64, 48)))
    assert process_photo(bytearray(data)).sha256 == process_photo(memoryview(data)).sha256
