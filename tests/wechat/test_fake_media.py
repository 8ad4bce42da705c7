"""The fake platform's media upload, image messages and videos, over real HTTP with plain `requests`."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from bot.wechat.fake_api import FakeWeChatAPI
from tests.wechat.conftest import ManualClock
from tests.wechat.test_fake_api import custom_send, get_token, text

TEN_MB = 10 * 1024 * 1024


def upload(
    fake: FakeWeChatAPI,
    token: str,
    content: bytes = b"\xff\xd8jpeg",
    *,
    filename: str = "p.jpg",
    content_type: str = "image/jpeg",
    kind: str | None = "image",
    field: str = "media",
) -> dict[str, Any]:
    params = {"access_token": token} | ({"type": kind} if kind is not None else {})
    reply = requests.post(
        f"{fake.base_url}/cgi-bin/media/upload",
        params=params,
        files={field: (filename, content, content_type)},
        timeout=10,
    )
    assert reply.status_code == 200
    return reply.json()


def image(openid: str, media_id: str) -> dict[str, Any]:
    return {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}}


def test_upload_stores_the_bytes_and_answers_like_the_platform(fake: FakeWeChatAPI, clock: ManualClock) -> None:
    token = get_token(fake)["access_token"]
    reply = upload(fake, token, b"\x89PNG-bytes", filename="hazard.png", content_type="image/png")
    assert set(reply) == {"type", "media_id", "created_at"}  # no errcode on success, as on the platform
    assert reply["type"] == "image" and reply["created_at"] == int(clock.now)
    media_id = reply["media_id"]
    assert fake.uploaded_media(media_id) == b"\x89PNG-bytes"
    [call] = fake.calls_to("media_upload")
    assert (call.query["type"], call.errcode) == ("image", 0)
    assert call.body == {"filename": "hazard.png", "content_type": "image/png", "size": 10}

    served = requests.get(
        f"{fake.base_url}/cgi-bin/media/get", params={"access_token": token, "media_id": media_id}, timeout=5
    )
    assert (served.content, served.headers["Content-Type"]) == (b"\x89PNG-bytes", "image/png")
    assert custom_send(fake, token, image("o1", media_id))["errcode"] == 0
    [sent] = fake.sent_messages("o1")
    assert (sent.msgtype, sent.media_id, sent.text) == ("image", media_id, "")


def test_upload_validates_token_type_field_size_and_extension(fake: FakeWeChatAPI) -> None:
    token = get_token(fake)["access_token"]
    assert upload(fake, "forged")["errcode"] == 40001
    assert upload(fake, "")["errcode"] == 41001
    assert upload(fake, token, kind=None)["errcode"] == 40004
    assert upload(fake, token, kind="document")["errcode"] == 40004
    assert upload(fake, token, field="file")["errcode"] == 41005
    assert upload(fake, token, b"")["errcode"] == 44001
    assert upload(fake, token, filename="photo")["errcode"] == 40005
    assert upload(fake, token, filename="photo.exe")["errcode"] == 40005
    assert upload(fake, token, b"x" * (TEN_MB + 1))["errcode"] == 40009
    assert upload(fake, token, b"x" * 70_000, kind="thumb", filename="t.jpg")["errcode"] == 40012
    assert "media_id" in upload(fake, token, b"x" * TEN_MB)
    assert upload(fake, token, b"#!AMR", kind="voice", filename="v.amr")["type"] == "voice"
    assert requests.get(f"{fake.base_url}/cgi-bin/media/upload", timeout=5).status_code == 405
    with pytest.raises(KeyError, match="no media uploaded"):
        fake.uploaded_media("never-uploaded")
    fake.add_media("ADDED", b"jpeg")
    with pytest.raises(KeyError):
        fake.uploaded_media("ADDED")  # put there by a test, not uploaded by a client


def test_image_messages_need_media_the_fake_knows(fake: FakeWeChatAPI) -> None:
    token = get_token(fake)["access_token"]
    assert custom_send(fake, token, image("o1", "never-existed"))["errcode"] == 40007
    assert custom_send(fake, token, {"touser": "o1", "msgtype": "image", "image": {}})["errcode"] == 40007
    fake.add_media("M1", b"jpeg")
    fake.expire_media("M1")
    assert custom_send(fake, token, image("o1", "M1"))["errcode"] == 40007
    assert fake.sent_messages() == []


def test_image_messages_obey_the_window(fake: FakeWeChatAPI, clock: ManualClock) -> None:
    token = get_token(fake)["access_token"]
    media_id = upload(fake, token)["media_id"]
    fake.user_wrote("o1", at=clock.now - 48 * 3600 - 1)
    assert custom_send(fake, token, image("o1", media_id))["errcode"] == 45015
    assert fake.sent_messages() == []


def test_sent_messages_carry_their_msgtype(fake: FakeWeChatAPI) -> None:
    token = get_token(fake)["access_token"]
    custom_send(fake, token, text("o1", "收到"))
    requests.post(
        f"{fake.base_url}/cgi-bin/message/template/send",
        params={"access_token": token},
        json={"touser": "o1", "template_id": "T1", "data": {"thing1": {"value": "x"}}},
        timeout=5,
    )
    assert [(m.msgtype, m.text, m.media_id) for m in fake.sent_messages("o1")] == [
        ("text", "收到", None),
        ("template", "thing1: x", None),
    ]


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_a_video_is_served_as_a_url_then_bytes(fake: FakeWeChatAPI, content_type: str) -> None:
    fake.media_error_content_type = content_type
    token = get_token(fake)["access_token"]
    fake.add_media("V1", b"\x00\x00\x00\x18ftypmp42", "video/mp4", filename="clip.mp4")
    answer = requests.get(
        f"{fake.base_url}/cgi-bin/media/get", params={"access_token": token, "media_id": "V1"}, timeout=5
    )
    assert answer.headers["Content-Type"].startswith(content_type)
    assert answer.json() == {"video_url": f"{fake.base_url}/__fake__/video/V1"}
    video = requests.get(answer.json()["video_url"], timeout=5)
    assert (video.status_code, video.content) == (200, b"\x00\x00\x00\x18ftypmp42")
    assert video.headers["Content-Type"] == "video/mp4"
    assert requests.get(f"{fake.base_url}/__fake__/video/nope", timeout=5).status_code == 404
    fake.expire_media("V1")
    assert requests.get(answer.json()["video_url"], timeout=5).status_code == 404
    assert [c.http_status for c in fake.calls_to("video_download")] == [200, 404, 404]


def test_media_upload_and_video_download_can_be_injected_over_http(fake: FakeWeChatAPI) -> None:
    control = f"{fake.base_url}/__fake__"
    token = get_token(fake)["access_token"]
    requests.post(f"{control}/inject", json={"endpoint": "media_upload", "errcode": 45009}, timeout=5)
    assert upload(fake, token)["errcode"] == 45009
    assert "media_id" in upload(fake, token)  # used up
    requests.post(
        f"{control}/media", params={"media_id": "V1", "content_type": "video/mp4"}, data=b"mp4", timeout=5
    ).raise_for_status()
    requests.post(f"{control}/inject", json={"endpoint": "video_download", "http_status": 503}, timeout=5)
    assert requests.get(fake.video_url("V1"), timeout=5).status_code == 503
    assert requests.get(fake.video_url("V1"), timeout=5).content == b"mp4"
