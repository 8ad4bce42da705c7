"""The fake platform, exercised over real HTTP with plain `requests`, as another process would use it."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import pytest
import requests

from bot.wechat.fake_api import FakeWeChatAPI, main
from tests.wechat.conftest import APP_ID, APP_SECRET, ManualClock


def get_token(fake: FakeWeChatAPI, appid: str = APP_ID, secret: str = APP_SECRET) -> dict[str, Any]:
    params = {"grant_type": "client_credential", "appid": appid, "secret": secret}
    return requests.get(f"{fake.base_url}/cgi-bin/token", params=params, timeout=5).json()


def custom_send(fake: FakeWeChatAPI, token: str, body: Any) -> dict[str, Any]:
    url = f"{fake.base_url}/cgi-bin/message/custom/send"
    return requests.post(url, params={"access_token": token}, json=body, timeout=5).json()


def text(openid: str, content: str = "收到") -> dict[str, Any]:
    return {"touser": openid, "msgtype": "text", "text": {"content": content}}


def test_token_endpoint_checks_credentials_and_counts_fetches(fake: FakeWeChatAPI) -> None:
    assert get_token(fake, appid="wx-other")["errcode"] == 40013
    assert get_token(fake, secret="wrong")["errcode"] == 40125
    reply = get_token(fake)
    assert reply["expires_in"] == 7200
    assert reply["access_token"] == fake.current_token
    assert fake.token_fetches == 1
    assert [c.errcode for c in fake.calls_to("token")] == [40013, 40125, 0]


def test_new_token_invalidates_the_previous_one_after_the_grace(fake: FakeWeChatAPI, clock: ManualClock) -> None:
    first = get_token(fake)["access_token"]
    second = get_token(fake)["access_token"]
    assert first != second
    clock.advance(299)
    assert custom_send(fake, first, text("o1"))["errcode"] == 0  # still inside the 300 s grace
    clock.advance(2)
    assert custom_send(fake, first, text("o1"))["errcode"] == 40001
    assert custom_send(fake, second, text("o1"))["errcode"] == 0
    clock.advance(7200)
    assert custom_send(fake, second, text("o1"))["errcode"] == 42001


def test_grace_period_is_configurable(clock: ManualClock) -> None:
    with FakeWeChatAPI(APP_ID, APP_SECRET, clock=clock, token_grace=0) as fake:
        first = get_token(fake)["access_token"]
        get_token(fake)
        assert custom_send(fake, first, text("o1"))["errcode"] == 40001


def test_stable_token_keeps_the_token_unless_forced(fake: FakeWeChatAPI) -> None:
    url = f"{fake.base_url}/cgi-bin/stable_token"
    body = {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}
    first = requests.post(url, json=body, timeout=5).json()["access_token"]
    assert requests.post(url, json=body, timeout=5).json()["access_token"] == first
    forced = requests.post(url, json={**body, "force_refresh": True}, timeout=5).json()["access_token"]
    assert forced != first
    assert requests.post(url, json={**body, "secret": "x"}, timeout=5).json()["errcode"] == 40125


def test_unknown_and_missing_tokens_are_refused(fake: FakeWeChatAPI) -> None:
    assert custom_send(fake, "forged", text("o1"))["errcode"] == 40001
    assert custom_send(fake, "", text("o1"))["errcode"] == 41001
    assert fake.sent_messages() == []


def test_custom_send_validates_the_body(fake: FakeWeChatAPI) -> None:
    token = get_token(fake)["access_token"]
    assert custom_send(fake, token, {"msgtype": "text", "text": {"content": "x"}})["errcode"] == 40003
    assert custom_send(fake, token, {"touser": "o1", "msgtype": "text", "text": {}})["errcode"] == 44004
    assert custom_send(fake, token, {"touser": "o1", "msgtype": "telegram"})["errcode"] == 40008
    image = {"touser": "o1", "msgtype": "image", "image": {"media_id": "M1"}}
    assert custom_send(fake, token, image)["errcode"] == 40007  # the fake has no media M1 yet
    fake.add_media("M1", b"\xff\xd8jpeg")
    assert custom_send(fake, token, image)["errcode"] == 0
    garbage = requests.post(
        f"{fake.base_url}/cgi-bin/message/custom/send",
        params={"access_token": token},
        data=b"{not json",
        timeout=5,
    )
    assert garbage.json()["errcode"] == 47001
    [sent] = fake.sent_messages("o1")
    assert (sent.kind, sent.msgtype, sent.text, sent.media_id) == ("custom", "image", "", "M1")
    assert sent.payload == image


def test_window_is_open_unless_the_test_says_when_the_user_wrote(fake: FakeWeChatAPI, clock: ManualClock) -> None:
    token = get_token(fake)["access_token"]
    assert custom_send(fake, token, text("never-told"))["errcode"] == 0
    fake.user_wrote("old", at=clock.now - 48 * 3600 - 1)
    reply = custom_send(fake, token, text("old"))
    assert reply == {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
    fake.user_wrote("recent", at=clock.now - 47 * 3600)
    assert custom_send(fake, token, text("recent"))["errcode"] == 0


def test_window_allows_five_replies_then_45047_until_the_user_writes(fake: FakeWeChatAPI) -> None:
    token = get_token(fake)["access_token"]
    fake.user_wrote("o1")
    codes = [custom_send(fake, token, text("o1", f"#{i}"))["errcode"] for i in range(6)]
    assert codes == [0, 0, 0, 0, 0, 45047]
    fake.user_wrote("o1")
    assert custom_send(fake, token, text("o1"))["errcode"] == 0


def test_template_and_subscribe_messages_are_recorded_with_their_kind(fake: FakeWeChatAPI) -> None:
    token = get_token(fake)["access_token"]
    data = {"thing1": {"value": "已受理"}}
    template = requests.post(
        f"{fake.base_url}/cgi-bin/message/template/send",
        params={"access_token": token},
        json={"touser": "o1", "template_id": "T1", "data": data},
        timeout=5,
    ).json()
    assert template["errcode"] == 0 and isinstance(template["msgid"], int)
    missing = requests.post(
        f"{fake.base_url}/cgi-bin/message/subscribe/bizsend",
        params={"access_token": token},
        json={"touser": "o1", "data": data},
        timeout=5,
    ).json()
    assert missing["errcode"] == 40037
    requests.post(
        f"{fake.base_url}/cgi-bin/message/subscribe/bizsend",
        params={"access_token": token},
        json={"touser": "o1", "template_id": "S1", "data": data},
        timeout=5,
    )
    assert [(m.kind, m.text) for m in fake.sent_messages("o1")] == [
        ("template", "thing1: 已受理"),
        ("subscribe", "thing1: 已受理"),
    ]


def test_media_get_serves_bytes_or_a_json_error_with_http_200(fake: FakeWeChatAPI) -> None:
    token = get_token(fake)["access_token"]
    fake.add_media("M1", b"\xff\xd8jpeg-bytes", "image/jpeg")
    url = f"{fake.base_url}/cgi-bin/media/get"
    found = requests.get(url, params={"access_token": token, "media_id": "M1"}, timeout=5)
    assert found.content == b"\xff\xd8jpeg-bytes"
    assert found.headers["Content-Type"] == "image/jpeg"
    assert 'filename="M1.jpg"' in found.headers["Content-Disposition"]
    fake.expire_media("M1")
    for media_id in ("M1", "never-existed"):
        gone = requests.get(url, params={"access_token": token, "media_id": media_id}, timeout=5)
        assert gone.status_code == 200
        assert gone.headers["Content-Type"].startswith("text/plain")
        assert gone.json()["errcode"] == 40007


def test_injected_failures_are_served_then_used_up(fake: FakeWeChatAPI) -> None:
    token = get_token(fake)["access_token"]
    fake.inject("custom_send", errcode=45009, times=2)
    fake.inject("custom_send", http_status=502)
    codes = [custom_send(fake, token, text("o1"))["errcode"] for _ in range(2)]
    bad_gateway = requests.post(
        f"{fake.base_url}/cgi-bin/message/custom/send",
        params={"access_token": token},
        json=text("o1"),
        timeout=5,
    )
    assert codes == [45009, 45009]
    assert bad_gateway.status_code == 502
    assert custom_send(fake, token, text("o1"))["errcode"] == 0
    assert [c.http_status for c in fake.calls_to("custom_send")] == [200, 200, 502, 200]
    with pytest.raises(ValueError, match="unknown endpoint"):
        fake.inject("custom_sned", errcode=-1)


def test_stop_does_not_wait_for_an_injected_delay(fake: FakeWeChatAPI) -> None:
    fake.inject("token", delay=30)
    caller = threading.Thread(target=lambda: _swallow(lambda: get_token(fake)), daemon=True)
    caller.start()
    time.sleep(0.2)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2


def _swallow(call: Any) -> None:
    with contextlib.suppress(requests.RequestException, ValueError):
        call()


def test_control_plane_over_http(fake: FakeWeChatAPI) -> None:
    control = f"{fake.base_url}/__fake__"
    raw = requests.post(
        f"{control}/media", params={"media_id": "RAW", "content_type": "audio/amr"}, data=b"#!AMR", timeout=5
    )
    upload = requests.post(
        f"{control}/media",
        data={"media_id": "UP"},
        files={"media": ("p.png", b"\x89PNG", "image/png")},
        timeout=5,
    )
    assert raw.json() == {"media_id": "RAW"} and upload.json() == {"media_id": "UP"}
    token = get_token(fake)["access_token"]
    media = requests.get(
        f"{fake.base_url}/cgi-bin/media/get", params={"access_token": token, "media_id": "UP"}, timeout=5
    )
    assert (media.content, media.headers["Content-Type"]) == (b"\x89PNG", "image/png")

    requests.post(f"{control}/inject", json={"endpoint": "custom_send", "errcode": -1}, timeout=5).raise_for_status()
    assert custom_send(fake, token, text("o1"))["errcode"] == -1
    requests.post(f"{control}/user_wrote", json={"openid": "o2", "at": 0}, timeout=5).raise_for_status()
    assert custom_send(fake, token, text("o2"))["errcode"] == 45015
    assert custom_send(fake, token, text("o3", "好的"))["errcode"] == 0

    calls = requests.get(f"{control}/calls", params={"endpoint": "custom_send"}, timeout=5).json()
    assert [c["errcode"] for c in calls["calls"]] == [-1, 45015, 0]
    messages = requests.get(f"{control}/messages", timeout=5).json()["messages"]
    assert [(m["kind"], m["openid"], m["text"]) for m in messages] == [("custom", "o3", "好的")]
    bad = requests.post(f"{control}/inject", json={"endpoint": "nope"}, timeout=5)
    assert bad.status_code == 400

    requests.post(f"{control}/reset", timeout=5).raise_for_status()
    assert fake.calls == [] and fake.sent_messages() == [] and fake.token_fetches == 0
    assert custom_send(fake, token, text("o3"))["errcode"] == 40001  # tokens are forgotten too


def test_wait_for_sees_a_message_sent_later_from_another_thread(fake: FakeWeChatAPI) -> None:
    token = get_token(fake)["access_token"]
    sender = threading.Timer(0.2, lambda: custom_send(fake, token, text("o9", "您的举报已受理")))
    sender.start()
    message = fake.wait_for(lambda m: m.openid == "o9", timeout=5)
    sender.join()
    assert message.text == "您的举报已受理"
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="no matching message"):
        fake.wait_for(lambda m: m.openid == "nobody", timeout=0.3)
    assert time.monotonic() - started < 2


def test_main_refuses_a_non_loopback_host() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--host", "0.0.0.0", "--port", "0"])
    assert exit_info.value.code == 2
