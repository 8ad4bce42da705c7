"""The outbound client against the fake platform (a real HTTP server) and a real Redis."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.wechat.api import WeChatAPI, WeChatAPIError, WeChatUnavailable
from bot.wechat.errors import ErrorKind, MediaTooLarge
from bot.wechat.fake_api import FakeWeChatAPI
from tests.wechat.conftest import APP_ID, APP_SECRET, unused_port

MakeAPI = Callable[..., WeChatAPI]
TOKEN_KEY = f"whistle:wechat:token:{APP_ID}"
ROOT = Path(__file__).resolve().parents[2]


def tokens_used(fake: FakeWeChatAPI, endpoint: str) -> list[str]:
    return [call.query["access_token"] for call in fake.calls_to(endpoint)]


# -- one shared token ----------------------------------------------------------------------------------------


def test_token_is_fetched_once_and_shared_through_redis(
    fake: FakeWeChatAPI, make_api: MakeAPI, redis_conn: redis.Redis
) -> None:
    web, worker = make_api(), make_api()  # two processes: own sessions, own Redis connections
    assert web.access_token() == worker.access_token() == fake.current_token
    web.send_text("o1", "收到")
    worker.send_text("o1", "已受理")
    assert fake.token_fetches == 1
    assert 7200 - 300 - 5 <= redis_conn.ttl(TOKEN_KEY) <= 7200 - 300
    assert web.token_fetches_today() == 1


def test_concurrent_refreshes_fetch_one_token(fake: FakeWeChatAPI, make_api: MakeAPI) -> None:
    clients = [make_api() for _ in range(8)]
    fake.inject("token", delay=0.3)  # widen the race: everyone asks while the first fetch is in flight
    start = threading.Barrier(len(clients))
    tokens: list[str] = []

    def ask(client: WeChatAPI) -> None:
        start.wait()
        tokens.append(client.access_token())

    threads = [threading.Thread(target=ask, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(tokens) == len(clients) and set(tokens) == {fake.current_token}
    assert fake.token_fetches == 1


def test_a_token_refreshed_by_another_process_is_reused_not_refetched(fake: FakeWeChatAPI, make_api: MakeAPI) -> None:
    web, worker = make_api(), make_api()
    stale = worker.access_token()
    # The worker's call is in flight with the old token while the web process refreshes it.
    fake.inject("custom_send", errcode=40001, delay=0.6)
    in_flight = threading.Thread(target=worker.send_text, args=("o1", "from the worker"))
    in_flight.start()
    time.sleep(0.2)
    fake.inject("custom_send", errcode=40001)
    web.send_text("o1", "from the web")
    in_flight.join(timeout=5)
    assert fake.token_fetches == 2  # the worker found the web's new token instead of fetching a third
    assert sorted(m.text for m in fake.sent_messages("o1")) == ["from the web", "from the worker"]
    assert set(tokens_used(fake, "custom_send")) == {stale, fake.current_token}


def test_a_token_learned_from_redis_is_used_for_a_while_without_asking_again(
    fake: FakeWeChatAPI, make_api: MakeAPI
) -> None:
    """Within its trust window a process sends with the token it last read, even after another process replaced it
    (the platform's grace keeps the old one working); after the window it reads the new one."""
    trusting, quick, web = make_api(token_local_trust=60.0), make_api(token_local_trust=0.3), make_api()
    trusting.send_text("o1", "a")
    quick.send_text("o1", "b")
    old = fake.current_token
    fake.inject("custom_send", errcode=40001)
    web.send_text("o1", "c")  # rejected once: the web process refreshes the shared token
    new = fake.current_token
    assert new != old and fake.token_fetches == 2
    trusting.send_text("o1", "d")
    time.sleep(0.4)
    quick.send_text("o1", "e")
    assert tokens_used(fake, "custom_send")[-2:] == [old, new]
    assert [m.text for m in fake.sent_messages("o1")] == ["a", "b", "c", "d", "e"]
    assert fake.token_fetches == 2


def test_a_rejected_token_is_not_trusted_again(fake: FakeWeChatAPI, make_api: MakeAPI) -> None:
    api = make_api(token_local_trust=60.0)
    api.send_text("o1", "a")
    fake.expire_tokens()
    api.send_text("o1", "b")
    api.send_text("o1", "c")
    assert [c.errcode for c in fake.calls_to("custom_send")] == [0, 42001, 0, 0]
    assert fake.token_fetches == 2


def test_a_child_process_shares_the_token(fake: FakeWeChatAPI, api: WeChatAPI, redis_url: str) -> None:
    api.send_text("o1", "from the parent")
    script = textwrap.dedent(f"""
        import redis
        from bot.wechat.api import WeChatAPI
        client = WeChatAPI(app_id={APP_ID!r}, app_secret={APP_SECRET!r}, base_url={fake.base_url!r},
                           redis=redis.Redis.from_url({redis_url!r}), timeout=2.0)
        client.send_text("o7", "from the child")
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    message = fake.wait_for(lambda m: m.openid == "o7", timeout=10)
    assert child.wait(timeout=10) == 0
    assert message.text == "from the child"
    assert fake.token_fetches == 1


# -- bounded retry on token errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_a_rejected_token_is_refreshed_once_and_the_call_retried_once(
    fake: FakeWeChatAPI, api: WeChatAPI, errcode: int
) -> None:
    first = api.access_token()
    fake.inject("custom_send", errcode=errcode)
    api.send_text("o1", "收到")
    used = tokens_used(fake, "custom_send")
    assert len(used) == 2 and used[0] == first and used[1] != first
    assert fake.token_fetches == 2
    assert [m.text for m in fake.sent_messages("o1")] == ["收到"]


def test_a_second_consecutive_token_error_raises_instead_of_looping(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    fake.inject("custom_send", errcode=40001, times=5)
    with pytest.raises(WeChatAPIError) as error:
        api.send_text("o1", "收到")
    assert error.value.errcode == 40001 and error.value.token_expired and error.value.transient
    assert len(fake.calls_to("custom_send")) == 2
    assert fake.token_fetches == 2


def test_a_really_expired_token_is_replaced(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    api.send_text("o1", "a")
    fake.expire_tokens()
    api.send_text("o1", "b")
    assert [c.errcode for c in fake.calls_to("custom_send")] == [0, 42001, 0]


# -- timeouts and unavailability -----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["token", "custom_send", "media_get"])
def test_every_call_honours_the_timeout(fake: FakeWeChatAPI, make_api: MakeAPI, endpoint: str) -> None:
    api = make_api(timeout=0.4)
    fake.add_media("M1", b"jpeg")
    if endpoint != "token":
        api.access_token()
    fake.inject(endpoint, delay=5.0)
    started = time.monotonic()
    with pytest.raises(WeChatUnavailable, match="timed out") as error:
        api.download_media("M1") if endpoint == "media_get" else api.send_text("o1", "x")
    assert time.monotonic() - started < 0.4 + 1.0
    assert error.value.transient and error.value.endpoint == endpoint


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_unavailable(fake: FakeWeChatAPI, api: WeChatAPI, status: int) -> None:
    api.access_token()
    fake.inject("custom_send", http_status=status)
    with pytest.raises(WeChatUnavailable) as error:
        api.send_text("o1", "x")
    assert error.value.status_code == status and error.value.transient


def test_garbage_instead_of_json_is_unavailable(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    api.access_token()
    fake.inject("template_send", body="<html>gateway says hi</html>")
    with pytest.raises(WeChatUnavailable, match="not JSON"):
        api.send_template("o1", "T1", {"thing1": "x"})


def test_connection_errors_never_reveal_the_secret(make_api: MakeAPI, caplog: pytest.LogCaptureFixture) -> None:
    api = make_api(base_url=f"http://127.0.0.1:{unused_port()}")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(WeChatUnavailable) as error:
        api.access_token()
    assert "ConnectionError" in str(error.value)
    assert APP_SECRET not in str(error.value) and "secret=***" in str(error.value)
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert APP_SECRET not in caplog.text


def test_logs_never_show_the_secret_or_the_token(
    fake: FakeWeChatAPI, api: WeChatAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.inject("custom_send", errcode=40001)
    api.send_text("o1", "x")
    assert "refreshing and retrying once" in caplog.text
    tokens = {call.query["access_token"] for call in fake.calls_to("custom_send")}
    assert all(token not in caplog.text for token in tokens) and APP_SECRET not in caplog.text


# -- error classification ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errcode", "kind", "transient", "permanent"),
    [
        (45015, ErrorKind.OUT_OF_WINDOW, False, False),
        (45047, ErrorKind.OUT_OF_WINDOW, False, False),
        (45009, ErrorKind.QUOTA_EXCEEDED, False, False),
        (-1, ErrorKind.TRANSIENT, True, False),
        (40003, ErrorKind.PERMANENT, False, True),
        (43004, ErrorKind.PERMANENT, False, True),
        (40164, ErrorKind.CONFIGURATION, False, True),
        (99999, ErrorKind.UNKNOWN, True, False),
    ],
)
def test_platform_errors_are_classified(
    fake: FakeWeChatAPI, api: WeChatAPI, errcode: int, kind: ErrorKind, transient: bool, permanent: bool
) -> None:
    api.access_token()
    fake.inject("custom_send", errcode=errcode)
    with pytest.raises(WeChatAPIError) as error:
        api.send_text("o1", "x")
    assert (error.value.errcode, error.value.kind) == (errcode, kind)
    assert (error.value.transient, error.value.permanent) == (transient, permanent)
    assert len(fake.calls_to("custom_send")) == 1  # only token errors are retried here


def test_the_real_window_gives_out_of_window(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    fake.user_wrote("o1", at=time.time() - 49 * 3600)
    with pytest.raises(WeChatAPIError) as error:
        api.send_text("o1", "您的举报已办结")
    assert error.value.out_of_window and not error.value.transient
    fake.user_wrote("o1")
    api.send_text("o1", "您的举报已办结")
    assert [m.text for m in fake.sent_messages("o1")] == ["您的举报已办结"]


def test_a_wrong_secret_is_a_configuration_error(make_api: MakeAPI) -> None:
    api = make_api(app_secret="not-the-secret")
    with pytest.raises(WeChatAPIError) as error:
        api.send_text("o1", "x")
    assert error.value.errcode == 40125 and error.value.configuration and error.value.permanent


# -- templates, subscriptions, media -------------------------------------------------------------------------


def test_template_and_subscribe_messages(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    msgid = api.send_template("o1", "T1", {"thing1": "已受理", "time2": "2024-05-01"}, url="https://example.org")
    api.send_subscribe("o1", "S1", {"thing1": "已派发"}, page="pages/case")
    assert msgid.isdigit()
    template, subscribe = fake.sent_messages("o1")
    assert template.kind == "template" and template.payload["data"]["thing1"] == {"value": "已受理"}
    assert template.payload["url"] == "https://example.org"
    assert subscribe.kind == "subscribe" and subscribe.payload["page"] == "pages/case"


def test_download_media(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    photo = bytes(range(256)) * 1000
    fake.add_media("M1", photo, "image/jpeg", filename="hazard.jpg")
    media = api.download_media("M1")
    assert (media.content, media.content_type, media.filename) == (photo, "image/jpeg", "hazard.jpg")


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_missing_or_expired_media_is_media_expired_despite_http_200(
    fake: FakeWeChatAPI, api: WeChatAPI, content_type: str
) -> None:
    fake.media_error_content_type = content_type
    fake.add_media("M1", b"voice", "audio/amr")
    fake.expire_media("M1")
    for media_id in ("M1", "never-existed"):
        with pytest.raises(WeChatAPIError) as error:
            api.download_media(media_id)
        assert error.value.media_expired and error.value.permanent
    assert {(c.http_status, c.errcode) for c in fake.calls_to("media_get")} == {(200, 40007)}


def test_media_larger_than_the_limit_is_refused(fake: FakeWeChatAPI, api: WeChatAPI) -> None:
    fake.add_media("BIG", b"x" * 300_000, "image/jpeg")
    with pytest.raises(MediaTooLarge):
        api.download_media("BIG", max_bytes=200_000)
    assert len(api.download_media("BIG", max_bytes=300_000).content) == 300_000


# -- Redis is a helper, not a dependency ---------------------------------------------------------------------


def test_without_redis_a_process_local_token_is_used(
    fake: FakeWeChatAPI, make_api: MakeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    dead = redis.Redis(host="127.0.0.1", port=unused_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    api = make_api(redis=dead)
    caplog.set_level(logging.WARNING, logger="bot.wechat")
    api.send_text("o1", "a")
    api.send_text("o1", "b")
    fake.inject("custom_send", errcode=40001)
    api.send_text("o1", "c")
    assert fake.token_fetches == 2  # one to start, one after the rejection: none per send
    assert [m.text for m in fake.sent_messages("o1")] == ["a", "b", "c"]
    assert caplog.text.count("Redis unreachable") == 1


def test_a_hung_redis_costs_one_timeout_not_one_per_send(fake: FakeWeChatAPI, make_api: MakeAPI) -> None:
    with socket.socket() as listener:  # accepts connections in the kernel backlog, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        hung = redis.Redis(
            host="127.0.0.1", port=listener.getsockname()[1], socket_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
        api = make_api(redis=hung)
        started = time.monotonic()
        for text in ("a", "b", "c", "d"):
            api.send_text("o1", text)
        elapsed = time.monotonic() - started
    assert len(fake.sent_messages("o1")) == 4
    assert 0.5 <= elapsed < 1.5  # the first read timed out; the next sends skipped Redis
