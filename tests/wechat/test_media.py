"""The client's image upload, image messages and video downloads, against the fake platform and a real Redis."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.wechat.api import MAX_IMAGE_UPLOAD_BYTES, WeChatAPI, WeChatAPIError, WeChatUnavailable
from bot.wechat.errors import ErrorKind, MediaTooLarge
from bot.wechat.fake_api import FakeWeChatAPI
from tests.wechat.conftest import ManualClock

MakeAPI = Callable[..., WeChatAPI]
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 400
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 2000


# -- upload and send ------------------------------------------------------------------------------------------


def test_upload_then_send_image(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    media_id = api.upload_image(PHOTO, "hazard.png", "image/png")
    assert fake.uploaded_media(media_id) == PHOTO
    [call] = fake.calls_to("media_upload")
    assert call.query["type"] == "image" and call.query["access_token"] == fake.current_token
    assert call.body == {"filename": "hazard.png", "content_type": "image/png", "size": len(PHOTO)}

    api.send_image("o1", media_id)
    [sent] = fake.sent_messages("o1")
    assert (sent.kind, sent.msgtype, sent.media_id, sent.text) == ("custom", "image", media_id, "")
    assert sent.payload == {"touser": "o1", "msgtype": "image", "image": {"media_id": media_id}}
    assert api.download_media(media_id).content == PHOTO  # the platform serves uploaded media back too
    assert fake.token_fetches == 1


def test_upload_defaults_to_a_jpeg(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    media_id = api.upload_image(PHOTO)
    assert fake.calls_to("media_upload")[0].body == {
        "filename": "photo.jpg",
        "content_type": "image/jpeg",
        "size": len(PHOTO),
    }
    assert fake.uploaded_media(media_id) == PHOTO


@pytest.mark.parametrize("expire", [False, True])
def test_an_image_to_an_unknown_or_expired_media_id_is_media_expired(
    fake: FakeWeChatAPI, api: WeChatAPI, expire: bool
) -> None:
    media_id = api.upload_image(PHOTO) if expire else "never-uploaded"
    if expire:
        fake.expire_media(media_id)
    with pytest.raises(WeChatAPIError) as error:
        api.send_image("o1", media_id)
    assert error.value.errcode == 40007 and error.value.kind is ErrorKind.MEDIA_EXPIRED
    assert error.value.media_expired and error.value.permanent and error.value.endpoint == "custom_send"
    assert fake.sent_messages() == []


def test_an_image_outside_the_window_is_out_of_window(fake: FakeWeChatAPI, api: WeChatAPI, clock: ManualClock) -> None:
    media_id = api.upload_image(PHOTO)
    fake.user_wrote("o1", at=clock.now - 49 * 3600)
    with pytest.raises(WeChatAPIError) as error:
        api.send_image("o1", media_id)
    assert error.value.errcode == 45015 and error.value.out_of_window and not error.value.transient
    fake.user_wrote("o1")
    api.send_image("o1", media_id)
    assert [m.media_id for m in fake.sent_messages("o1")] == [media_id]


def test_an_upload_over_10_mb_is_refused_without_a_request(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    with pytest.raises(MediaTooLarge) as error:
        api.upload_image(b"\xff" * (MAX_IMAGE_UPLOAD_BYTES + 1), "big.jpg")
    assert error.value.upload and error.value.filename == "big.jpg"
    assert (error.value.size, error.value.limit) == (MAX_IMAGE_UPLOAD_BYTES + 1, 10 * 1024 * 1024)
    assert not error.value.transient
    assert fake.calls == []  # not even a token fetch


def test_an_upload_of_exactly_10_mb_goes_through(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    content = b"\xff" * MAX_IMAGE_UPLOAD_BYTES
    assert fake.uploaded_media(api.upload_image(content)) == content


def test_a_filename_the_platform_rejects_is_permanent(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    with pytest.raises(WeChatAPIError) as error:
        api.upload_image(PHOTO, filename="photo")
    assert error.value.errcode == 40005 and error.value.permanent and error.value.endpoint == "media_upload"


# -- upload failures ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errcode", "check"),
    [
        (45009, lambda e: e.quota_exceeded and not e.transient),
        (-1, lambda e: e.transient and not e.permanent),
        (40009, lambda e: e.permanent),
        (44001, lambda e: e.permanent),
    ],
)
def test_injected_upload_errors_are_raised_without_retry(
    fake: FakeWeChatAPI, api: WeChatAPI, errcode: int, check: Callable[[WeChatAPIError], bool]
) -> None:
    fake.inject("media_upload", errcode=errcode)
    with pytest.raises(WeChatAPIError) as error:
        api.upload_image(PHOTO)
    assert error.value.errcode == errcode and error.value.endpoint == "media_upload" and check(error.value)
    assert len(fake.calls_to("media_upload")) == 1


@pytest.mark.parametrize("injection", [{"http_status": 502}, {"body": "<html>busy</html>"}])
def test_an_unusable_upload_answer_is_unavailable(
    fake: FakeWeChatAPI, api: WeChatAPI, injection: dict[str, Any]
) -> None:
    fake.inject("media_upload", **injection)
    with pytest.raises(WeChatUnavailable) as error:
        api.upload_image(PHOTO)
    assert error.value.transient and error.value.endpoint == "media_upload"


def test_an_upload_answer_without_a_media_id_is_unavailable(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    fake.inject("media_upload", body='{"type": "image", "created_at": 1}')
    with pytest.raises(WeChatUnavailable, match="lacks media_id"):
        api.upload_image(PHOTO)


def test_an_upload_honours_the_timeout(fake: FakeWeChatAPI, make_api: MakeAPI) -> None:
    api = make_api(timeout=0.4)
    api.access_token()
    fake.inject("media_upload", delay=5.0)
    started = time.monotonic()
    with pytest.raises(WeChatUnavailable, match="timed out") as error:
        api.upload_image(PHOTO)
    assert time.monotonic() - started < 0.4 + 1.0
    assert error.value.endpoint == "media_upload"


@pytest.mark.parametrize("errcode", [40001, 42001])
def test_a_rejected_token_on_upload_is_refreshed_and_the_upload_resent_once(
    fake: FakeWeChatAPI, api: WeChatAPI, errcode: int
) -> None:
    first = api.access_token()
    fake.inject("media_upload", errcode=errcode)
    media_id = api.upload_image(PHOTO)
    calls = fake.calls_to("media_upload")
    assert [c.errcode for c in calls] == [errcode, 0]
    assert calls[0].query["access_token"] == first != calls[1].query["access_token"] == fake.current_token
    assert calls[1].body["size"] == len(PHOTO)  # the whole file went again
    assert fake.uploaded_media(media_id) == PHOTO and fake.token_fetches == 2


def test_an_expired_token_on_upload_is_replaced(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    api.upload_image(PHOTO)
    fake.expire_tokens()
    api.upload_image(PHOTO)
    assert [c.errcode for c in fake.calls_to("media_upload")] == [0, 42001, 0]


def test_a_second_token_error_on_upload_raises(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    fake.inject("media_upload", errcode=40001, times=3)
    with pytest.raises(WeChatAPIError) as error:
        api.upload_image(PHOTO)
    assert error.value.token_expired and len(fake.calls_to("media_upload")) == 2


# -- videos: media/get answers a URL --------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_a_video_is_downloaded_from_its_video_url(fake: FakeWeChatAPI, api: WeChatAPI, content_type: str) -> None:
    fake.media_error_content_type = content_type
    fake.add_media("V1", VIDEO, "video/mp4", filename="clip.mp4")
    media = api.download_media("V1")
    assert (media.content, media.content_type, media.filename) == (VIDEO, "video/mp4", "clip.mp4")
    [download] = fake.calls_to("video_download")
    assert download.query == {}  # the access token never goes to the video's host
    assert len(fake.calls_to("media_get")) == 1


def test_a_video_over_max_bytes_is_refused(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    fake.add_media("V1", VIDEO, "video/mp4")
    with pytest.raises(MediaTooLarge) as error:
        api.download_media("V1", max_bytes=len(VIDEO) - 1)
    assert error.value.media_id == "V1" and not error.value.upload and error.value.limit == len(VIDEO) - 1
    assert api.download_media("V1", max_bytes=len(VIDEO)).content == VIDEO


def test_an_expired_video_is_media_expired(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    fake.add_media("V1", VIDEO, "video/mp4")
    fake.expire_media("V1")
    with pytest.raises(WeChatAPIError) as error:
        api.download_media("V1")
    assert error.value.media_expired
    assert fake.calls_to("video_download") == []


def test_a_token_error_on_a_video_retries_media_get_then_downloads_once(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    fake.add_media("V1", VIDEO, "video/mp4")
    api.access_token()
    fake.inject("media_get", errcode=40001)
    assert api.download_media("V1").content == VIDEO
    assert [c.errcode for c in fake.calls_to("media_get")] == [40001, 0]
    assert len(fake.calls_to("video_download")) == 1


@pytest.mark.parametrize(
    ("injection", "message"),
    [
        ({"http_status": 404}, "HTTP 404"),
        ({"body": "<html>cdn error</html>"}, "served text/html"),
        ({"delay": 5.0}, "timed out"),
    ],
)
def test_video_download_failures_are_unavailable(
    fake: FakeWeChatAPI, make_api: MakeAPI, injection: dict[str, Any], message: str
) -> None:
    api = make_api(timeout=0.4)
    fake.add_media("V1", VIDEO, "video/mp4")
    fake.inject("video_download", **injection)
    with pytest.raises(WeChatUnavailable, match=message) as error:
        api.download_media("V1")
    assert error.value.endpoint == "video_download" and error.value.transient


@pytest.mark.parametrize(
    "body",
    [
        '{"video_url": "file:///etc/passwd"}',
        '{"video_url": "/relative/path.mp4"}',
        '{"video_url": 42}',
        '{"errcode": 0, "errmsg": "ok"}',
    ],
)
def test_a_broken_media_get_json_is_unavailable(fake: FakeWeChatAPI, api: WeChatAPI, body: str) -> None:
    api.access_token()
    fake.inject("media_get", body=body)
    with pytest.raises(WeChatUnavailable) as error:
        api.download_media("V1")
    assert error.value.endpoint == "media_get"
    assert fake.calls_to("video_download") == []
