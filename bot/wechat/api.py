"""The outbound WeChat client: customer-service, template and subscription messages, media up- and downloads.

Why not wechatpy's WeChatClient: it sets no HTTP timeouts (none at all on the token fetch), retries token
errors in ways that are hard to bound, and scatters absolute URLs that make a local fake server awkward. This
client is small on purpose: one ``requests.Session``, explicit (connect, read) timeouts on every call, one
shared access token (see ``bot.wechat.token``), and exactly one refresh-and-retry when the platform says the
token is invalid.

Every failure is either a ``WeChatAPIError`` (the platform answered with an errcode; see ``bot.wechat.errors``
for what each code means) or a ``WeChatUnavailable`` (no usable answer: timeout, connection error, 5xx,
garbage). Neither ever carries the app secret or the access token, and neither chains the ``requests``
exception, whose text includes the request URL.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
import requests

from bot.wechat.errors import ErrorKind, MediaTooLarge, WeChatAPIError, WeChatError, WeChatUnavailable
from bot.wechat.token import LOCAL_TRUST_SECONDS, IssuedToken, SharedToken

__all__ = [
    "MAX_IMAGE_UPLOAD_BYTES",
    "DownloadedMedia",
    "ErrorKind",
    "MediaTooLarge",
    "WeChatAPI",
    "WeChatAPIError",
    "WeChatError",
    "WeChatUnavailable",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_SECRET_PARAMS = re.compile(r"(secret|access_token)=[^&\s'\"]*", re.IGNORECASE)
_JSON_TYPES = ("application/json", "text/plain", "text/json")

#: The platform's limit for an uploaded image (its documentation says "10M"); bigger uploads are refused locally.
MAX_IMAGE_UPLOAD_BYTES = 10 * 1024 * 1024
#: The content type of a video download whose server does not name a specific one.
DEFAULT_VIDEO_TYPE = "video/mp4"


def redact(text: str) -> str:
    """Hide ``secret=`` and ``access_token=`` values, which requests puts in its exception messages."""
    return _SECRET_PARAMS.sub(r"\1=***", text)


class _RedactSecrets(logging.Filter):
    """urllib3 logs each request line at DEBUG, query string included: where the secret and token travel."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_URLLIB3_FILTER = _RedactSecrets()


def _guard_urllib3_logs() -> None:
    """Idempotent: every client shares the one filter on urllib3's request logger."""
    urllib3_logger = logging.getLogger("urllib3.connectionpool")
    if _URLLIB3_FILTER not in urllib3_logger.filters:
        urllib3_logger.addFilter(_URLLIB3_FILTER)


@dataclass(frozen=True)
class DownloadedMedia:
    """A user's photo, voice note or video, as the platform served it."""

    content: bytes
    content_type: str
    filename: str | None


def _session_reading_the_environment_once() -> requests.Session:
    """A session that does not look at the environment on each call (`WeChatAPI._environment_for` does, once a
    host); the rest of what it would read there (.netrc credentials) has no use with this API."""
    session = requests.Session()
    session.trust_env = False
    return session


class WeChatAPI:
    """Calls the platform's APIs with one shared token and bounded, explicit timeouts."""

    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        base_url: str,
        redis: redis.Redis,
        timeout: float = 5.0,
        key_prefix: str = "whistle",
        session: requests.Session | None = None,
        token_local_trust: float = LOCAL_TRUST_SECONDS,
    ) -> None:
        self.app_id = app_id
        self._app_secret = app_secret
        self._base_url = base_url.rstrip("/")
        self._timeout = (timeout, timeout)
        self._session = session or _session_reading_the_environment_once()
        self._environment: dict[str, dict[str, Any]] = {}  # per scheme and host (see `_request`)
        _guard_urllib3_logs()
        # The lock must outlive a fetch that uses its whole connect + read timeout.
        self._token = SharedToken(
            redis,
            app_id=app_id,
            key_prefix=key_prefix,
            fetch=self._fetch_token,
            lock_timeout=max(10.0, 2 * timeout + 2),
            local_trust=token_local_trust,
        )

    def __repr__(self) -> str:
        return f"WeChatAPI(app_id={self.app_id!r}, base_url={self._base_url!r})"

    def close(self) -> None:
        self._session.close()

    # -- token -----------------------------------------------------------------------------------------------

    def access_token(self) -> str:
        """The token every process shares; fetched from the platform only when none is cached."""
        return self._token.get()

    def token_fetches_today(self) -> int:
        """Token fetches counted today (Beijing time) across all processes; the platform allows 2,000."""
        return self._token.fetches_today()

    def _fetch_token(self) -> IssuedToken:
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self._app_secret}
        reply = self._json(self._request("GET", "/cgi-bin/token", endpoint="token", params=params), "token")
        value, expires_in = reply.get("access_token"), reply.get("expires_in")
        if not isinstance(value, str) or not value or not isinstance(expires_in, int):
            raise WeChatUnavailable("token reply lacks access_token/expires_in", endpoint="token")
        return IssuedToken(value, expires_in)

    # -- messages --------------------------------------------------------------------------------------------

    def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message: only within 48 h of the user's last message (else 45015)."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        self._post("/cgi-bin/message/custom/send", body, endpoint="custom_send")

    def send_image(self, openid: str, media_id: str) -> None:
        """A customer-service image message (``media_id`` from ``upload_image``): same 48 h window as text."""
        body = {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}}
        self._post("/cgi-bin/message/custom/send", body, endpoint="custom_send")

    def send_template(self, openid: str, template_id: str, data: dict[str, str], url: str | None = None) -> str:
        """A template message (no time window); returns the platform's msgid."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": _template_data(data)}
        if url:
            body["url"] = url
        reply = self._post("/cgi-bin/message/template/send", body, endpoint="template_send")
        return str(reply.get("msgid", ""))

    def send_subscribe(self, openid: str, template_id: str, data: dict[str, str], page: str | None = None) -> None:
        """A subscription notification: needs the user's consent for this template (else 43101)."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": _template_data(data)}
        if page:
            body["page"] = page
        self._post("/cgi-bin/message/subscribe/bizsend", body, endpoint="subscribe_send")

    def _post(self, path: str, body: dict[str, Any], *, endpoint: str) -> dict[str, Any]:
        # ensure_ascii=False: some platform endpoints show \\uXXXX escapes to the user literally.
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")

        def call(token: str) -> dict[str, Any]:
            response = self._request(
                "POST",
                path,
                endpoint=endpoint,
                params={"access_token": token},
                data=payload,
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            return self._json(response, endpoint)

        return self._with_token(call)

    # -- media -----------------------------------------------------------------------------------------------

    def upload_image(self, content: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg") -> str:
        """Upload an image as temporary media; returns its media_id (valid 3 days) for ``send_image``.

        Content over ``MAX_IMAGE_UPLOAD_BYTES`` (the platform's 10 MB) raises ``MediaTooLarge`` before any
        request, token fetch included. The platform accepts PNG, JPEG and GIF and is reported to judge the
        format by the filename's extension (40005 otherwise), so keep ``filename`` ending in .jpg/.png/.gif.
        """
        if len(content) > MAX_IMAGE_UPLOAD_BYTES:
            raise MediaTooLarge("", MAX_IMAGE_UPLOAD_BYTES, filename=filename, size=len(content))

        def call(token: str) -> dict[str, Any]:
            # `files=` builds a fresh multipart body on each call, so the retry after a token error resends it.
            response = self._request(
                "POST",
                "/cgi-bin/media/upload",
                endpoint="media_upload",
                params={"access_token": token, "type": "image"},
                files={"media": (filename, content, content_type)},
            )
            return self._json(response, "media_upload")

        reply = self._with_token(call)
        media_id = reply.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WeChatUnavailable("upload reply lacks media_id", endpoint="media_upload")
        return media_id

    def download_media(self, media_id: str, *, max_bytes: int | None = None) -> DownloadedMedia:
        """Download a user's media now: ids expire 3 days after the user sent them (40007).

        Success is raw bytes; failure is a JSON errcode served with HTTP 200 and an inconsistent content
        type, so the body decides, not the status code. For a video the platform answers JSON
        ``{"video_url": ...}`` instead: that URL is then downloaded (without the access token, with the same
        timeout and ``max_bytes``), its content type defaulting to video/mp4.
        """

        def call(token: str) -> DownloadedMedia | str:
            response = self._request(
                "GET",
                "/cgi-bin/media/get",
                endpoint="media_get",
                params={"access_token": token, "media_id": media_id},
                stream=True,
            )
            with response:
                return self._read_media(response, media_id, max_bytes)

        media = self._with_token(call)
        if isinstance(media, DownloadedMedia):
            return media
        return self._download_video(media, media_id, max_bytes)

    def _read_media(self, response: requests.Response, media_id: str, max_bytes: int | None) -> DownloadedMedia | str:
        """The media, or the URL to fetch a video from."""
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        content = self._read_body(response, media_id, max_bytes, endpoint="media_get")
        if _looks_like_json(content_type, content):
            reply = self._json(response, "media_get", content)
            if "video_url" in reply:
                return _video_url(reply["video_url"])
            raise WeChatUnavailable("media/get answered JSON without media", endpoint="media_get")
        return DownloadedMedia(content, content_type.split(";")[0].strip(), _filename(response))

    def _download_video(self, url: str, media_id: str, max_bytes: int | None) -> DownloadedMedia:
        # An absolute URL on another host: no access_token goes with it.
        response = self._request("GET", url, endpoint="video_download", stream=True, absolute=True)
        with response:
            content = self._read_body(response, media_id, max_bytes, endpoint="video_download")
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type.startswith("text/") or content_type in _JSON_TYPES:
                # An error page or a JSON error from the video's host, not a video.
                raise WeChatUnavailable(f"video_url served {content_type}", endpoint="video_download")
            if not content_type or content_type == "application/octet-stream":
                content_type = DEFAULT_VIDEO_TYPE
            return DownloadedMedia(content, content_type, _filename(response))

    def _read_body(self, response: requests.Response, media_id: str, max_bytes: int | None, *, endpoint: str) -> bytes:
        """Read within the overall deadline: the read timeout alone only bounds each gap between chunks."""
        deadline = time.monotonic() + 6 * self._timeout[1]
        chunks: list[bytes] = []
        size = 0
        for chunk in _iter_chunks(response, endpoint):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise MediaTooLarge(media_id, max_bytes)
            if time.monotonic() > deadline:
                raise WeChatUnavailable("media download took too long", endpoint=endpoint)
            chunks.append(chunk)
        return b"".join(chunks)

    # -- plumbing --------------------------------------------------------------------------------------------

    def _with_token(self, call: Callable[[str], T]) -> T:
        """Run ``call`` with the shared token; on a token error refresh once and retry once, never more."""
        token = self._token.get()
        try:
            return call(token)
        except WeChatAPIError as exc:
            if not exc.token_expired:
                raise
            logger.info(
                "%s: access token rejected (errcode %s); refreshing and retrying once",
                exc.endpoint,
                exc.errcode,
            )
            self._token.invalidate(token)
        return call(self._token.get())

    def _request(
        self, method: str, path: str, *, endpoint: str, absolute: bool = False, **kwargs: Any
    ) -> requests.Response:
        url = path if absolute else self._base_url + path
        if not self._session.trust_env:
            for name, value in self._environment_for(url).items():
                kwargs.setdefault(name, value)
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.Timeout:
            raise WeChatUnavailable(f"timed out after {self._timeout[1]:.1f} s", endpoint=endpoint) from None
        except requests.RequestException as exc:
            # `from None`: the original exception's text and traceback contain the URL with secret/token.
            raise WeChatUnavailable(redact(f"{type(exc).__name__}: {exc}"), endpoint=endpoint) from None
        if response.status_code >= 300:
            response.close()
            raise WeChatUnavailable(f"HTTP {response.status_code}", endpoint=endpoint, status_code=response.status_code)
        return response

    def _environment_for(self, url: str) -> dict[str, Any]:
        """The proxies and CA bundle the environment sets for this URL's host, read on its first call: what requests
        reads on every call of a session that trusts the environment (a tenth of a push's CPU)."""
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        found = self._environment.get(key)
        if found is None:
            proxies = requests.utils.get_environ_proxies(url)
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            found = self._environment[key] = {"proxies": proxies} | ({"verify": bundle} if bundle else {})
        return found

    def _json(self, response: requests.Response, endpoint: str, content: bytes | None = None) -> dict[str, Any]:
        """Parse the platform's JSON, raising on a non-zero errcode; anything else is garbage: transient."""
        try:
            raw = response.content if content is None else content
            reply = json.loads(raw)
        except (ValueError, requests.RequestException):
            raise WeChatUnavailable("answer is not JSON", endpoint=endpoint) from None
        if not isinstance(reply, dict):
            raise WeChatUnavailable("answer is not a JSON object", endpoint=endpoint)
        errcode = reply.get("errcode", 0)
        if errcode:
            error = WeChatAPIError(_as_int(errcode), str(reply.get("errmsg", "")), endpoint=endpoint)
            logger.info("%s", error)
            raise error
        return reply


def _template_data(data: dict[str, str]) -> dict[str, dict[str, str]]:
    return {key: {"value": value} for key, value in data.items()}


def _as_int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return -1


def _iter_chunks(response: requests.Response, endpoint: str) -> Iterator[bytes]:
    try:
        yield from response.iter_content(chunk_size=64 * 1024)
    except requests.RequestException as exc:
        raise WeChatUnavailable(redact(f"download interrupted: {type(exc).__name__}"), endpoint=endpoint) from None


def _looks_like_json(content_type: str, content: bytes) -> bool:
    """Media bodies are images/voice; an error or a video's URL is a small JSON object whatever the content type."""
    if content_type.split(";")[0].strip().lower() in _JSON_TYPES:
        return True
    small_object = len(content) < 4096 and content.lstrip().startswith(b"{")
    return small_object and (b"errcode" in content or b"video_url" in content)


def _video_url(value: object) -> str:
    """Only an absolute http(s) URL: anything else (file:, a relative path, not a string) is a broken answer."""
    if isinstance(value, str):
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.netloc:
            return value
    raise WeChatUnavailable("media/get answered an unusable video_url", endpoint="media_get")


def _filename(response: requests.Response) -> str | None:
    disposition = response.headers.get("Content-Disposition")
    if not disposition:
        return None
    message = Message()
    message["Content-Disposition"] = disposition
    return message.get_filename()
