"""The client takes its proxy (and CA bundle) from the environment, as requests would, but reads it once a host."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from bot.wechat.api import WeChatUnavailable
from bot.wechat.fake_api import FakeWeChatAPI
from tests.wechat.conftest import unused_port
from tests.wechat.test_api import MakeAPI

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


class ForwardingProxy(ThreadingHTTPServer):
    """A plain-HTTP forward proxy on loopback that notes the URLs it carried."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.carried: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(BaseHTTPRequestHandler):
    server: ForwardingProxy
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        target = urlsplit(self.path)
        self.server.carried.append(target.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=5)
        path = target.path + (f"?{target.query}" if target.query else "")
        upstream.request(self.command, path, body=body or None, headers={"Content-Type": "application/json"})
        answer = upstream.getresponse()
        content = answer.read()
        upstream.close()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.getheader("Content-Type") or "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _forward

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[ForwardingProxy]:
    server = ForwardingProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_calls_go_through_the_proxy_the_environment_names(
    fake: FakeWeChatAPI, make_api: MakeAPI, proxy: ForwardingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    api = make_api()
    api.send_text("oWorker", "第一条")
    api.send_text("oWorker", "第二条")
    assert proxy.carried == ["/cgi-bin/token", "/cgi-bin/message/custom/send", "/cgi-bin/message/custom/send"]
    assert [call.body["text"]["content"] for call in fake.calls_to("custom_send")] == ["第一条", "第二条"]


def test_a_host_the_environment_exempts_is_called_directly(
    fake: FakeWeChatAPI, make_api: MakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{unused_port()}")  # nobody listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    make_api().send_text("oWorker", "直连")
    assert [call.body["text"]["content"] for call in fake.calls_to("custom_send")] == ["直连"]


def test_the_environment_is_read_at_a_hosts_first_call(
    fake: FakeWeChatAPI, make_api: MakeAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = make_api()
    api.send_text("oWorker", "before")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{unused_port()}")  # set later: this client does not look
    api.send_text("oWorker", "after")
    with pytest.raises(WeChatUnavailable):  # a client made now does, and the proxy is not there
        make_api().send_text("oWorker", "new client")
    assert [call.body["text"]["content"] for call in fake.calls_to("custom_send")] == ["before", "after"]
