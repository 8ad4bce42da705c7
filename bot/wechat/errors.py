"""Errors raised by the outbound WeChat client, and what each platform error code means for the caller.

The gateway that delivers messages to users decides by *kind*, not by number: retry later, hold until the user
writes again, fall back to a template, give up on this message, or alert an operator. Keeping that table here
means the numbers are interpreted in one place.
"""

from __future__ import annotations

import enum


class ErrorKind(enum.Enum):
    """What the caller should do about a platform error."""

    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - refresh the access token; the client already retried once
    OUT_OF_WINDOW = "out_of_window"  # the platform will not deliver now: fall back or hold until the user writes
    QUOTA_EXCEEDED = "quota_exceeded"  # daily quota spent: nothing succeeds before the platform's midnight
    TRANSIENT = "transient"  # the platform is busy or rate limiting: retry the same call later
    MEDIA_EXPIRED = "media_expired"  # the media id is unknown or older than 3 days: it will never download
    CONFIGURATION = "configuration"  # wrong app id/secret/IP whitelist/template: every call fails until fixed
    PERMANENT = "permanent"  # this message to this user cannot succeed (bad openid, unsubscribed, bad content)
    UNKNOWN = "unknown"  # a code not in the table: retried like a transient error, bounded by the caller


#: Platform error codes, by what they mean for the caller. Codes not listed are ErrorKind.UNKNOWN.
ERROR_KINDS: dict[int, ErrorKind] = {
    40001: ErrorKind.TOKEN_EXPIRED,  # invalid credential / access_token is not the latest
    40014: ErrorKind.TOKEN_EXPIRED,  # invalid access_token
    42001: ErrorKind.TOKEN_EXPIRED,  # access_token expired
    45015: ErrorKind.OUT_OF_WINDOW,  # outside the 48-hour customer-service window, or the user unfollowed
    45047: ErrorKind.OUT_OF_WINDOW,  # too many customer-service messages without a reply: wait for the user
    43101: ErrorKind.OUT_OF_WINDOW,  # user refuses the message (no consent left): wait for the user
    45009: ErrorKind.QUOTA_EXCEEDED,  # reach max api daily quota limit
    -1: ErrorKind.TRANSIENT,  # system busy
    45011: ErrorKind.TRANSIENT,  # api minute-quota reached: retry next minute
    40007: ErrorKind.MEDIA_EXPIRED,  # invalid media_id
    40002: ErrorKind.CONFIGURATION,  # invalid grant_type
    40013: ErrorKind.CONFIGURATION,  # invalid appid
    40125: ErrorKind.CONFIGURATION,  # invalid appsecret
    40164: ErrorKind.CONFIGURATION,  # caller IP not in the whitelist
    41002: ErrorKind.CONFIGURATION,  # appid missing
    41004: ErrorKind.CONFIGURATION,  # appsecret missing
    40037: ErrorKind.CONFIGURATION,  # invalid template_id
    48001: ErrorKind.CONFIGURATION,  # api unauthorized for this account type
    40003: ErrorKind.PERMANENT,  # invalid openid
    43004: ErrorKind.PERMANENT,  # require subscribe: the user has unfollowed
    40008: ErrorKind.PERMANENT,  # invalid message type
    44003: ErrorKind.PERMANENT,  # empty news data
    44004: ErrorKind.PERMANENT,  # empty content
    45002: ErrorKind.PERMANENT,  # content size out of limit
    47001: ErrorKind.PERMANENT,  # data format error
    40004: ErrorKind.PERMANENT,  # invalid media type (the upload's ``type`` parameter)
    40005: ErrorKind.PERMANENT,  # invalid file type (the upload's format or filename extension)
    40006: ErrorKind.PERMANENT,  # invalid media size
    40009: ErrorKind.PERMANENT,  # invalid image size (images: at most 10 MB)
    40010: ErrorKind.PERMANENT,  # invalid voice size
    40011: ErrorKind.PERMANENT,  # invalid video size
    40012: ErrorKind.PERMANENT,  # invalid thumb size
    41005: ErrorKind.PERMANENT,  # media data missing (no multipart field "media")
    44001: ErrorKind.PERMANENT,  # empty media data
}


class WeChatError(Exception):
    """Base class: anything that went wrong talking to the platform."""

    @property
    def transient(self) -> bool:
        """True when the same call may succeed later without anyone changing anything."""
        raise NotImplementedError


class WeChatUnavailable(WeChatError):
    """The platform did not answer usefully: timeout, connection error, 5xx, or a body that is not its JSON.

    Always transient. The message never contains the app secret or the access token.
    """

    def __init__(self, message: str, *, endpoint: str = "", status_code: int | None = None) -> None:
        super().__init__(f"{endpoint}: {message}" if endpoint else message)
        self.endpoint = endpoint
        self.status_code = status_code

    @property
    def transient(self) -> bool:
        return True


class WeChatAPIError(WeChatError):
    """The platform answered with a non-zero ``errcode``."""

    def __init__(self, errcode: int, errmsg: str, *, endpoint: str = "") -> None:
        super().__init__(f"{endpoint + ': ' if endpoint else ''}errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.endpoint = endpoint

    @property
    def kind(self) -> ErrorKind:
        return ERROR_KINDS.get(self.errcode, ErrorKind.UNKNOWN)

    @property
    def token_expired(self) -> bool:
        return self.kind is ErrorKind.TOKEN_EXPIRED

    @property
    def out_of_window(self) -> bool:
        """45015, 45047, 43101: send a template/subscription instead, or hold until the user writes."""
        return self.kind is ErrorKind.OUT_OF_WINDOW

    @property
    def quota_exceeded(self) -> bool:
        """45009: not transient within the day; retrying before midnight (Beijing time) only burns calls."""
        return self.kind is ErrorKind.QUOTA_EXCEEDED

    @property
    def media_expired(self) -> bool:
        return self.kind is ErrorKind.MEDIA_EXPIRED

    @property
    def configuration(self) -> bool:
        """An operator must fix the account settings; every call will fail the same way until then."""
        return self.kind is ErrorKind.CONFIGURATION

    @property
    def permanent(self) -> bool:
        """Retrying this exact call can never succeed (includes configuration errors and expired media)."""
        return self.kind in (ErrorKind.PERMANENT, ErrorKind.CONFIGURATION, ErrorKind.MEDIA_EXPIRED)

    @property
    def transient(self) -> bool:
        """Retry later with backoff. Unknown codes count as transient: we would rather retry than drop."""
        return self.kind in (ErrorKind.TRANSIENT, ErrorKind.TOKEN_EXPIRED, ErrorKind.UNKNOWN)


class MediaTooLarge(WeChatError):
    """Media over a size limit, never worth retrying as is.

    Either a download exceeded the caller's ``max_bytes`` (the partial content was discarded; ``media_id`` is
    set, ``filename`` is None), or an upload exceeded the platform's limit and was refused before any request
    was made (``media_id`` is "", ``filename`` and ``size`` say what was refused).
    """

    def __init__(self, media_id: str, limit: int, *, filename: str | None = None, size: int | None = None) -> None:
        if filename is not None:
            message = f"upload {filename!r} is {size} bytes; the platform accepts at most {limit}"
        else:
            message = f"media {media_id!r} is larger than {limit} bytes"
        super().__init__(message)
        self.media_id = media_id
        self.limit = limit
        self.filename = filename
        self.size = size

    @property
    def upload(self) -> bool:
        """True when an upload was refused (nothing was sent), False for a download over ``max_bytes``."""
        return self.filename is not None

    @property
    def transient(self) -> bool:
        return False
