"""The fake platform keeps connections alive, as the platform does, and a stopped fake answers nobody.

A fake that closed every connection made each push pay for a new TCP connection (and a server thread) that a
deployment talking to the platform does not pay; one that kept serving held connections after `stop()` would hide
an outage from the clients that hold one. Raw sockets and `http.client` here: they show what crosses the wire.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable

import pytest

from bot.wechat.api import WeChatAPI
from bot.wechat.errors import WeChatUnavailable
from bot.wechat.fake_api import FakeWeChatAPI
from bot.wechat.keepalive_server import KeepAliveWSGIServer
from tests.wechat.conftest import APP_ID, APP_SECRET

TOKEN_PATH = f"/cgi-bin/token?grant_type=client_credential&appid={APP_ID}&secret={APP_SECRET}"


def exchange(sock: socket.socket, *requests: bytes) -> list[http.client.HTTPResponse]:
    """Send raw requests one after the other on one connection; each response is read before the next goes."""
    responses = []
    for request in requests:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()
        responses.append(response)
    return responses


def test_one_connection_carries_many_calls(fake: FakeWeChatAPI) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    conn.request("GET", TOKEN_PATH)
    first = conn.getresponse()
    token = first.read()
    held = conn.sock
    assert first.status == 200 and first.getheader("Connection") is None
    assert first.getheader("Content-Length") == str(len(token))
    for _ in range(3):
        conn.request("POST", "/cgi-bin/message/custom/send?access_token=x", body=b"{}")
        response = conn.getresponse()
        assert response.status == 200 and b"40001" in response.read()
    assert conn.sock is held  # never reopened
    assert len(fake.calls) == 4
    conn.close()


def test_a_body_the_app_never_reads_does_not_leak_into_the_next_request(fake: FakeWeChatAPI) -> None:
    # A 404 path reads no body; the server still consumes it by its Content-Length before the next request line.
    body = b"GET /cgi-bin/token HTTP/1.1\r\n\r\n"  # would be taken for a request if left unread
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as sock:
        responses = exchange(
            sock,
            b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
            f"GET {TOKEN_PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        )
    assert [r.status for r in responses] == [404, 200]
    assert [c.endpoint for c in fake.calls] == ["token"]


def test_chunked_request_bodies_are_read(fake: FakeWeChatAPI) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    conn.request("GET", TOKEN_PATH)
    token = conn.getresponse().read().split(b'"')[3].decode()
    message = b'{"touser": "o1", "msgtype": "text", "text": {"content": "\xe6\x94\xb6\xe5\x88\xb0"}}'
    conn.request("POST", f"/cgi-bin/message/custom/send?access_token={token}", body=iter([message[:20], message[20:]]))
    response = conn.getresponse()
    assert response.status == 200 and b'"errcode": 0' in response.read()
    assert fake.sent_messages("o1")[0].text == "收到"
    conn.close()


@pytest.mark.parametrize(
    "head",
    [
        b"POST /cgi-bin/message/custom/send HTTP/1.1\r\nContent-Length: many\r\n\r\n",
        b"POST /cgi-bin/message/custom/send HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /cgi-bin/message/custom/send HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"NOT A REQUEST LINE\r\n\r\n",
    ],
    ids=["length-not-a-number", "negative-length", "bad-chunk-size", "garbage"],
)
def test_unreadable_requests_get_400_and_a_closed_connection(fake: FakeWeChatAPI, head: bytes) -> None:
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as sock:
        sock.sendall(head)
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()
        assert response.status == 400
        assert response.getheader("Connection") == "close"
        assert sock.recv(1) == b""  # the server hung up
    assert fake.calls == []
    # and it still serves everyone else
    assert http_get_status(fake.port, TOKEN_PATH) == 200


def http_get_status(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path)
    status = conn.getresponse().status
    conn.close()
    return status


def test_a_stopped_fake_hangs_up_on_connections_it_kept() -> None:
    fake = FakeWeChatAPI(APP_ID, APP_SECRET).start()
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    conn.request("GET", TOKEN_PATH)
    assert conn.getresponse().read()
    fake.stop()
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        conn.request("GET", TOKEN_PATH)
        conn.getresponse()
    conn.close()


def test_a_client_holding_a_connection_sees_the_outage_and_recovers(make_api: Callable[..., WeChatAPI]) -> None:
    """The platform client reuses its pooled connection: after the fake stops, the call fails as unavailable
    (retried later by its job), and once a platform answers on that address again, calls go through."""
    fake = FakeWeChatAPI(APP_ID, APP_SECRET).start()
    port = fake.port
    api = make_api(base_url=fake.base_url)
    api.send_text("o1", "第一条")
    fake.stop()
    with pytest.raises(WeChatUnavailable):
        api.send_text("o1", "第二条")
    with FakeWeChatAPI(APP_ID, APP_SECRET, port=port) as again:
        api.send_text("o1", "第三条")
        assert [m.text for m in again.sent_messages("o1")] == ["第三条"]
    assert [m.text for m in fake.sent_messages("o1")] == ["第一条"]


def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = KeepAliveWSGIServer("127.0.0.1", 0, app, idle_timeout=0.3)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as sock:
            (response,) = exchange(sock, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert response.status == 200
            started = time.monotonic()
            assert sock.recv(1) == b""  # the server hung up on its own
            assert 0.2 < time.monotonic() - started < 3
    finally:
        server.shutdown()
        server.server_close()
