"""A fake WeChat API platform: a real HTTP server on loopback, for tests and ``whistle run --sandbox``.

It speaks the platform's paths and JSON, and reproduces the behaviours that break real deployments: token
rotation (a new token invalidates the previous one after a grace period), the 48-hour customer-service window,
media ids that expire, media errors served as JSON with HTTP 200 and a misleading content type, videos served
as a ``video_url`` to fetch separately, uploads with the platform's size limits, and injected failures (error
codes, 5xx, slow answers). Being a real server, it also catches what mocks miss: timeouts,
encodings, several processes.

Tests drive it in-process (``fake.inject(...)``, ``fake.sent_messages()``); other processes drive it over HTTP
under ``/__fake__/`` (see ``_CONTROL``).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import mimetypes
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from bot.wechat.keepalive_server import KeepAliveWSGIServer

logger = logging.getLogger(__name__)

JsonDict = dict[str, Any]

DEFAULT_APP_ID = "wx0000000000sandbox"
DEFAULT_APP_SECRET = "sandbox-secret"  # noqa: S105 - the sandbox's public, fake credential
CUSTOMER_SERVICE_WINDOW = 48 * 3600
JSON_TYPE = "application/json; encoding=utf-8"  # sic: what the platform sends

#: path -> endpoint name used in recordings and injections
ENDPOINTS: dict[str, str] = {
    "/cgi-bin/token": "token",
    "/cgi-bin/stable_token": "stable_token",
    "/cgi-bin/message/custom/send": "custom_send",
    "/cgi-bin/message/template/send": "template_send",
    "/cgi-bin/message/subscribe/bizsend": "subscribe_send",
    "/cgi-bin/media/get": "media_get",
    "/cgi-bin/media/upload": "media_upload",
}
#: Where a video's bytes are served (the platform's ``video_url``, a CDN in real life); endpoint "video_download".
VIDEO_PATH = "/__fake__/video/"
#: Endpoint names ``inject`` accepts: the platform's, plus the video download.
INJECTABLE = frozenset([*ENDPOINTS.values(), "video_download"])

#: media/upload per ``type``: size limit, the errcode for exceeding it, and the filename extensions of the formats
#: the platform's documentation lists (it is reported to judge the format by the extension: 40005 otherwise).
UPLOAD_LIMITS: dict[str, tuple[int, int, frozenset[str]]] = {
    "image": (10 * 1024 * 1024, 40009, frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp"})),
    "voice": (2 * 1024 * 1024, 40010, frozenset({".amr", ".mp3"})),
    "video": (10 * 1024 * 1024, 40011, frozenset({".mp4"})),
    "thumb": (64 * 1024, 40012, frozenset({".jpg", ".jpeg"})),
}

ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40005: "invalid file type",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40010: "invalid voice size",
    40011: "invalid video size",
    40012: "invalid thumb size",
    40013: "invalid appid",
    40014: "invalid access_token",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40164: "invalid ip 127.0.0.1, not in whitelist",
    41001: "access_token missing",
    41005: "media data missing",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44001: "empty media data",
    44003: "empty news data",
    44002: "empty post data",
    44004: "empty content",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
}

_LOOSE_MSGTYPES = {
    "voice",
    "video",
    "music",
    "mpnews",
    "mpnewsarticle",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
}


@dataclass
class Call:
    """One request to a platform endpoint, as the fake saw and answered it."""

    endpoint: str
    method: str
    query: dict[str, str]
    body: Any
    at: float
    http_status: int = 200
    errcode: int | None = None

    def to_dict(self) -> JsonDict:
        return asdict(self)


@dataclass(frozen=True)
class SentMessage:
    """A message the fake accepted.

    ``kind`` is "custom", "template" or "subscribe"; ``msgtype`` is the custom message's type ("text", "image",
    ...) or, for the others, "template"/"subscribe". ``text`` is the content of a text message, the rendered data
    of a template or subscription, "" for an image (see ``media_id``), "[voice]" and the like for other kinds.
    """

    kind: str
    openid: str
    text: str
    payload: JsonDict
    at: float
    msgtype: str = ""
    media_id: str | None = None

    def to_dict(self) -> JsonDict:
        return asdict(self)


@dataclass
class Injection:
    """A failure to serve instead of the normal answer, ``times`` times."""

    endpoint: str
    errcode: int | None = None
    http_status: int | None = None
    delay: float | None = None
    times: int = 1
    errmsg: str | None = None
    body: str | None = None  # raw (non-JSON) body served with HTTP 200, e.g. an HTML error page


@dataclass
class _Token:
    value: str
    expires_at: float
    superseded_at: float | None = None


@dataclass
class _Media:
    content: bytes
    content_type: str
    filename: str
    expired: bool = False
    uploaded: bool = False  # through media/upload, not put there by a test

    @property
    def is_video(self) -> bool:
        """media/get answers a video with JSON ``{"video_url": ...}`` instead of its bytes."""
        return self.content_type.lower().startswith("video/")


@dataclass
class _Window:
    last_wrote: float
    replies: int = 0


@dataclass
class _Reply:
    """What a handler answers; turned into a werkzeug Response at the edge."""

    status: int = 200
    payload: JsonDict | None = None
    raw: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def errcode(self) -> int | None:
        return int(self.payload.get("errcode", 0)) if self.payload is not None else None

    def response(self) -> Response:
        body = json.dumps(self.payload, ensure_ascii=False).encode() if self.payload is not None else self.raw
        return Response(body, status=self.status, content_type=self.content_type, headers=self.headers)


def error(errcode: int, errmsg: str | None = None, content_type: str = JSON_TYPE) -> _Reply:
    return _Reply(
        payload={"errcode": errcode, "errmsg": errmsg or ERRMSG.get(errcode, "error")},
        content_type=content_type,
    )


def ok(**extra: Any) -> _Reply:
    return _Reply(payload={"errcode": 0, "errmsg": "ok", **extra})


class FakeWeChatAPI:
    """The fake platform. Use as a context manager, or ``start()``/``stop()``."""

    def __init__(
        self,
        app_id: str = DEFAULT_APP_ID,
        app_secret: str = DEFAULT_APP_SECRET,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token_grace: float = 300.0,
        token_ttl: int = 7200,
        replies_per_window: int | None = 5,
        media_error_content_type: str = "text/plain",
        clock: Callable[[], float] = time.time,
        quiet: bool = True,
    ) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.host, self.port = host, port
        self.token_grace, self.token_ttl = token_grace, token_ttl
        self.replies_per_window = replies_per_window
        self.media_error_content_type = media_error_content_type
        self.clock = clock
        self._quiet = quiet
        self._cond = threading.Condition(threading.RLock())
        self._stopping = threading.Event()
        self._server: KeepAliveWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._clear()

    def _clear(self) -> None:
        self.calls: list[Call] = []
        self._sent: list[SentMessage] = []
        self._injections: list[Injection] = []
        self._tokens: dict[str, _Token] = {}
        self._current: _Token | None = None
        self._windows: dict[str, _Window] = {}
        self._media: dict[str, _Media] = {}
        self._next_msgid = 1_000_001
        self.token_fetches = 0

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> FakeWeChatAPI:
        # Keep-alive, as the platform does: a client that opened a connection per call would pay for it here and
        # nowhere else (werkzeug's development server closes every connection).
        server = KeepAliveWSGIServer(self.host, self.port, self._wsgi, log_requests=not self._quiet)
        self._server, self.port = server, server.server_port
        self._stopping.clear()
        # A short poll interval makes stop() quick: shutdown() waits for the serving loop's next poll.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-wechat", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes injected delays
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()  # a stopped platform answers nobody, kept-alive clients included
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeWeChatAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- test helpers ----------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything: calls, messages, injections, tokens, windows and media."""
        with self._cond:
            self._clear()

    def inject(
        self,
        endpoint: str,
        errcode: int | None = None,
        http_status: int | None = None,
        delay: float | None = None,
        times: int = 1,
        *,
        errmsg: str | None = None,
        body: str | None = None,
    ) -> None:
        """Serve a failure on the next ``times`` calls to ``endpoint`` (a name from ``ENDPOINTS``).

        ``delay`` alone slows the normal answer; with ``errcode``, ``http_status`` or ``body``, the failure.
        """
        if endpoint not in INJECTABLE:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {sorted(INJECTABLE)}")
        with self._cond:
            self._injections.append(Injection(endpoint, errcode, http_status, delay, times, errmsg, body))

    def user_wrote(self, openid: str, at: float | None = None) -> None:
        """Opt ``openid`` into window enforcement: they last wrote at ``at`` (default now)."""
        with self._cond:
            self._windows[openid] = _Window(self.clock() if at is None else at)

    def add_media(
        self, media_id: str, content: bytes, content_type: str = "image/jpeg", filename: str | None = None
    ) -> str:
        """Media a user sent. A ``video/...`` content type makes media/get answer ``{"video_url": ...}`` and
        ``GET /__fake__/video/<media_id>`` serve the bytes, as the platform does for videos."""
        with self._cond:
            extension = mimetypes.guess_extension(content_type.split(";")[0]) or ".bin"
            self._media[media_id] = _Media(content, content_type, filename or f"{media_id}{extension}")
        return media_id

    def expire_media(self, media_id: str) -> None:
        with self._cond:
            self._media[media_id].expired = True

    def uploaded_media(self, media_id: str) -> bytes:
        """The bytes a client uploaded through media/upload as ``media_id``; KeyError if none was."""
        with self._cond:
            media = self._media.get(media_id)
            if media is None or not media.uploaded:
                raise KeyError(f"no media uploaded as {media_id!r}")
            return media.content

    def video_url(self, media_id: str) -> str:
        """Where media/get sends clients for a video's bytes."""
        return f"{self.base_url}{VIDEO_PATH}{media_id}"

    def expire_tokens(self) -> None:
        """Make every issued token expired, as after 7,200 s: calls get 42001."""
        with self._cond:
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, self.clock())

    @property
    def current_token(self) -> str | None:
        with self._cond:
            return self._current.value if self._current else None

    def calls_to(self, endpoint: str) -> list[Call]:
        with self._cond:
            return [call for call in self.calls if call.endpoint == endpoint]

    def sent_messages(self, openid: str | None = None) -> list[SentMessage]:
        with self._cond:
            return [m for m in self._sent if openid is None or m.openid == openid]

    def wait_for(self, predicate: Callable[[SentMessage], bool] | None = None, timeout: float = 5.0) -> SentMessage:
        """Wait until a matching message is sent (e.g. by a worker process); TimeoutError if none is."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                match = next((m for m in self._sent if predicate is None or predicate(m)), None)
                if match is not None:
                    return match
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    sent = [(m.kind, m.msgtype, m.openid, m.text) for m in self._sent]
                    raise TimeoutError(f"no matching message within {timeout} s; sent so far: {sent}")
                self._cond.wait(remaining)

    # -- WSGI edge -------------------------------------------------------------------------------------------

    def _wsgi(self, environ: JsonDict, start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith(VIDEO_PATH):
            response = self._platform(request, "video_download").response()
        elif request.path.startswith("/__fake__/"):
            response = self._control(request)
        elif request.path in ENDPOINTS:
            response = self._platform(request, ENDPOINTS[request.path]).response()
        else:
            response = Response("not found", status=404, content_type="text/plain")
        return response(environ, start_response)

    def _platform(self, request: Request, endpoint: str) -> _Reply:
        # Read the body before any injection: an unread body would be taken for the next request on the connection.
        if endpoint == "media_upload":
            body: Any = _describe_upload(request)
        else:
            body = request.get_json(force=True, silent=True) if request.method == "POST" else None
        injection = self._take_injection(endpoint)
        if injection is not None and injection.delay:
            self._stopping.wait(injection.delay)
        reply = _injected_reply(injection) if injection is not None else None
        with self._cond:
            if reply is None:
                reply = self._answer(endpoint, request, body)
            self.calls.append(
                Call(
                    endpoint,
                    request.method,
                    dict(request.args),
                    body,
                    self.clock(),
                    reply.status,
                    reply.errcode,
                )
            )
            self._cond.notify_all()
        return reply

    def _take_injection(self, endpoint: str) -> Injection | None:
        with self._cond:
            for injection in self._injections:
                if injection.endpoint == endpoint and injection.times > 0:
                    injection.times -= 1
                    return injection
        return None

    def _answer(self, endpoint: str, request: Request, body: Any) -> _Reply:
        if endpoint == "token":
            return self._token(dict(request.args))
        if endpoint == "stable_token":
            return self._stable_token(body)
        if request.method != ("GET" if endpoint in ("media_get", "video_download") else "POST"):
            return _Reply(status=405, raw=b"method not allowed", content_type="text/plain")
        if endpoint == "video_download":  # a CDN URL: no access token
            return self._video_download(request.path.removeprefix(VIDEO_PATH))
        code = self._check_token(request.args.get("access_token"))
        if code:
            return error(code)
        if endpoint == "media_get":
            return self._media_get(request.args.get("media_id", ""))
        if endpoint == "media_upload":
            return self._media_upload(request)
        if not isinstance(body, dict):
            return error(47001) if request.get_data() else error(44002)
        handlers = {
            "custom_send": self._custom_send,
            "template_send": self._template_send,
            "subscribe_send": self._subscribe_send,
        }
        return handlers[endpoint](body)

    # -- tokens ----------------------------------------------------------------------------------------------

    def _token(self, args: dict[str, str]) -> _Reply:
        if args.get("grant_type") != "client_credential":
            return error(40002)
        code = self._check_credentials(args.get("appid"), args.get("secret"))
        return error(code) if code else self._issued(self._issue_token())

    def _stable_token(self, body: Any) -> _Reply:
        """Shares tokens with /cgi-bin/token for simplicity (the platform keeps them apart)."""
        if not isinstance(body, dict):
            return error(47001)
        if body.get("grant_type") != "client_credential":
            return error(40002)
        code = self._check_credentials(body.get("appid"), body.get("secret"))
        if code:
            return error(code)
        current = self._current
        if body.get("force_refresh") or current is None or self._token_state(current):
            current = self._issue_token()
        return self._issued(current)

    def _check_credentials(self, app_id: Any, secret: Any) -> int:
        if app_id != self.app_id:
            return 40013
        return 0 if secret == self.app_secret else 40125

    def _issue_token(self) -> _Token:
        now = self.clock()
        for token in self._tokens.values():
            if token.superseded_at is None:
                token.superseded_at = now
        self._current = _Token(secrets.token_urlsafe(48), now + self.token_ttl)
        self._tokens[self._current.value] = self._current
        self.token_fetches += 1
        return self._current

    def _issued(self, token: _Token) -> _Reply:
        return _Reply(
            payload={
                "access_token": token.value,
                "expires_in": max(0, round(token.expires_at - self.clock())),
            }
        )

    def _check_token(self, value: str | None) -> int:
        if not value:
            return 41001
        token = self._tokens.get(value)
        return 40001 if token is None else self._token_state(token)

    def _token_state(self, token: _Token) -> int:
        now = self.clock()
        if now >= token.expires_at:
            return 42001
        if token.superseded_at is not None and now >= token.superseded_at + self.token_grace:
            return 40001
        return 0

    # -- messages --------------------------------------------------------------------------------------------

    def _custom_send(self, body: JsonDict) -> _Reply:
        openid, msgtype = body.get("touser"), body.get("msgtype")
        if not isinstance(openid, str) or not openid:
            return error(40003)
        code, text = _check_custom_body(msgtype, body)
        media_id = None
        if not code and msgtype == "image":
            media_id = body["image"]["media_id"]
            media = self._media.get(media_id)
            code = 40007 if media is None or media.expired else 0
        if not code:
            code = self._check_window(openid)
        if code:
            return error(code)
        self._record_sent("custom", openid, text, body, msgtype=str(msgtype), media_id=media_id)
        return ok()

    def _check_window(self, openid: str) -> int:
        window = self._windows.get(openid)
        if window is None:
            return 0  # the test did not opt in: the window is open
        if self.clock() - window.last_wrote > CUSTOMER_SERVICE_WINDOW:
            return 45015
        if self.replies_per_window is not None and window.replies >= self.replies_per_window:
            return 45047
        window.replies += 1
        return 0

    def _template_send(self, body: JsonDict) -> _Reply:
        code = _check_template_body(body)
        if code:
            return error(code)
        msgid = self._next_msgid
        self._next_msgid += 1
        self._record_sent("template", body["touser"], _render_data(body["data"]), body, msgtype="template")
        return ok(msgid=msgid)

    def _subscribe_send(self, body: JsonDict) -> _Reply:
        code = _check_template_body(body)
        if code:
            return error(code)
        self._record_sent("subscribe", body["touser"], _render_data(body["data"]), body, msgtype="subscribe")
        return ok()

    def _record_sent(
        self, kind: str, openid: str, text: str, payload: JsonDict, *, msgtype: str, media_id: str | None = None
    ) -> None:
        self._sent.append(SentMessage(kind, openid, text, payload, self.clock(), msgtype, media_id))

    # -- media -----------------------------------------------------------------------------------------------

    def _media_get(self, media_id: str) -> _Reply:
        media = self._media.get(media_id)
        if media is None or media.expired:
            return error(40007, content_type=self.media_error_content_type)
        if media.is_video:
            return _Reply(payload={"video_url": self.video_url(media_id)}, content_type=self.media_error_content_type)
        return _media_reply(media)

    def _video_download(self, media_id: str) -> _Reply:
        media = self._media.get(media_id)
        if media is None or media.expired or not media.is_video:
            return _Reply(status=404, raw=b"not found", content_type="text/plain")
        return _media_reply(media)

    def _media_upload(self, request: Request) -> _Reply:
        """Temporary media: the ``type`` must be known, the field "media" present, non-empty, within the type's
        size limit, its filename ending in an extension the type accepts (the platform goes by the extension)."""
        kind = request.args.get("type", "")
        if kind not in UPLOAD_LIMITS:
            return error(40004)
        upload = request.files.get("media")
        if upload is None:
            return error(41005)
        content = upload.read()
        if not content:
            return error(44001)
        limit, size_errcode, extensions = UPLOAD_LIMITS[kind]
        if len(content) > limit:
            return error(size_errcode)
        filename = upload.filename or ""
        extension = ("." + filename.rsplit(".", 1)[-1].lower()) if "." in filename else ""
        if extension not in extensions:
            return error(40005)
        content_type = upload.mimetype
        if not content_type or content_type == "application/octet-stream":
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        media_id = secrets.token_urlsafe(48)
        self._media[media_id] = _Media(content, content_type, filename, uploaded=True)
        return _Reply(payload={"type": kind, "media_id": media_id, "created_at": int(self.clock())})

    # -- control plane ---------------------------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/__fake__/").strip("/")
        handler = _CONTROL.get((request.method, action))
        if handler is None:
            return _json_response({"error": f"no control action {request.method} {action}"}, 404)
        try:
            return _json_response(handler(self, request))
        except (KeyError, TypeError, ValueError) as exc:
            return _json_response({"error": f"{type(exc).__name__}: {exc}"}, 400)

    def _ctl_media(self, request: Request) -> JsonDict:
        upload = next(iter(request.files.values()), None)
        fields = request.form if upload is not None else request.args
        media_id = fields.get("media_id") or request.args.get("media_id") or secrets.token_urlsafe(24)
        if upload is not None:
            content = upload.read()
            content_type = fields.get("content_type") or upload.mimetype or "application/octet-stream"
            filename = fields.get("filename") or upload.filename
        else:
            content, content_type = request.get_data(), request.args.get("content_type", "image/jpeg")
            filename = request.args.get("filename")
        return {"media_id": self.add_media(media_id, content, content_type, filename)}

    def _ctl_expire_media(self, request: Request) -> JsonDict:
        self.expire_media(_json_body(request)["media_id"])
        return {"ok": True}

    def _ctl_calls(self, request: Request) -> JsonDict:
        endpoint = request.args.get("endpoint")
        with self._cond:
            calls = [c.to_dict() for c in self.calls if endpoint is None or c.endpoint == endpoint]
        return {"calls": calls, "token_fetches": self.token_fetches}

    def _ctl_messages(self, request: Request) -> JsonDict:
        return {"messages": [m.to_dict() for m in self.sent_messages(request.args.get("openid"))]}

    def _ctl_inject(self, request: Request) -> JsonDict:
        self.inject(**_json_body(request))
        return {"ok": True}

    def _ctl_reset(self, request: Request) -> JsonDict:
        self.reset()
        return {"ok": True}

    def _ctl_user_wrote(self, request: Request) -> JsonDict:
        body = _json_body(request)
        self.user_wrote(str(body["openid"]), body.get("at"))
        return {"ok": True}

    def _ctl_expire_tokens(self, request: Request) -> JsonDict:
        self.expire_tokens()
        return {"ok": True}


_CONTROL: dict[tuple[str, str], Callable[[FakeWeChatAPI, Request], JsonDict]] = {
    ("POST", "media"): FakeWeChatAPI._ctl_media,
    ("POST", "expire_media"): FakeWeChatAPI._ctl_expire_media,
    ("GET", "calls"): FakeWeChatAPI._ctl_calls,
    ("GET", "messages"): FakeWeChatAPI._ctl_messages,
    ("POST", "inject"): FakeWeChatAPI._ctl_inject,
    ("POST", "reset"): FakeWeChatAPI._ctl_reset,
    ("POST", "user_wrote"): FakeWeChatAPI._ctl_user_wrote,
    ("POST", "expire_tokens"): FakeWeChatAPI._ctl_expire_tokens,
}


def _json_body(request: Request) -> JsonDict:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body


def _json_response(payload: JsonDict, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, content_type="application/json")


def _injected_reply(injection: Injection) -> _Reply | None:
    if injection.http_status is not None:
        page = f"<html><body><h1>{injection.http_status}</h1></body></html>".encode()
        return _Reply(status=injection.http_status, raw=page, content_type="text/html")
    if injection.body is not None:
        return _Reply(raw=injection.body.encode(), content_type="text/html")
    if injection.errcode is not None:
        return error(injection.errcode, injection.errmsg)
    return None  # a pure delay


def _media_reply(media: _Media) -> _Reply:
    disposition = f'attachment; filename="{media.filename}"'
    return _Reply(raw=media.content, content_type=media.content_type, headers={"Content-Disposition": disposition})


def _describe_upload(request: Request) -> JsonDict | None:
    """What a media/upload call carried, for ``Call.body``: never the bytes (the recording must stay JSON)."""
    if request.method != "POST":
        return None
    upload = request.files.get("media")
    if upload is None:
        return {"fields": sorted(request.files), "size": None}
    size = len(upload.read())
    upload.seek(0)
    return {"filename": upload.filename, "content_type": upload.mimetype, "size": size}


def _check_custom_body(msgtype: Any, body: JsonDict) -> tuple[int, str]:
    """(errcode, text for the recording); strict for text and image, loose for the other kinds.

    An image's media_id is checked against the fake's media by the caller.
    """
    part = body.get(msgtype) if isinstance(msgtype, str) else None
    if msgtype == "text":
        content = part.get("content") if isinstance(part, dict) else None
        return (0, content) if isinstance(content, str) and content else (44004, "")
    if msgtype == "image":
        ok_image = isinstance(part, dict) and isinstance(part.get("media_id"), str) and part["media_id"]
        return (0, "") if ok_image else (40007, "")
    if msgtype == "news":
        articles = part.get("articles") if isinstance(part, dict) else None
        if not isinstance(articles, list) or not articles:
            return 44003, ""
        return 0, "\n".join(str(a.get("title", "")) for a in articles if isinstance(a, dict))
    if msgtype in _LOOSE_MSGTYPES and isinstance(part, dict):
        return 0, f"[{msgtype}]"
    return 40008, ""


def _check_template_body(body: JsonDict) -> int:
    if not isinstance(body.get("touser"), str) or not body["touser"]:
        return 40003
    if not isinstance(body.get("template_id"), str) or not body["template_id"]:
        return 40037
    data = body.get("data")
    if not isinstance(data, dict) or not all(isinstance(v, dict) and "value" in v for v in data.values()):
        return 47001
    return 0


def _render_data(data: dict[str, dict[str, Any]]) -> str:
    return "\n".join(f"{key}: {value['value']}" for key, value in data.items())


def run_forever(
    host: str = "127.0.0.1",
    port: int = 8088,
    app_id: str = DEFAULT_APP_ID,
    app_secret: str = DEFAULT_APP_SECRET,
    *,
    token_grace: float = 300.0,
) -> None:
    """Serve until SIGINT or SIGTERM (signals are caught only when called from the main thread)."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    with FakeWeChatAPI(app_id, app_secret, host=host, port=port, token_grace=token_grace) as fake:
        logger.info("fake WeChat API on %s (app_id %s)", fake.base_url, app_id)
        stop.wait()
        logger.info("fake WeChat API stopping")


def main(argv: list[str] | None = None) -> int:
    """``whistle fake-wechat``: run the fake platform for a sandbox."""
    parser = argparse.ArgumentParser(
        prog="whistle fake-wechat", description="Run a fake WeChat API platform on loopback."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--app-id", default=DEFAULT_APP_ID)
    parser.add_argument("--app-secret", default=DEFAULT_APP_SECRET)
    parser.add_argument("--token-grace", type=float, default=300.0, help="seconds a replaced token still works")
    parser.add_argument("--allow-non-loopback", action="store_true", help="allow a host other than loopback")
    args = parser.parse_args(argv)
    if not args.allow_non_loopback and not _is_loopback(args.host):
        parser.error(f"{args.host} is not a loopback address; pass --allow-non-loopback to serve it anyway")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_forever(args.host, args.port, args.app_id, args.app_secret, token_grace=args.token_grace)
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
