"""The webhook's side of the platform protocol: signatures, AES decryption and encryption, XML in and out.

Everything that can be wrong with a request surfaces as one of two exceptions, so the webhook answers each case in
one place: `Forbidden` (403: we cannot trust who sent it) and `Malformed` (400: signed, but we cannot read it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, cached_property
from typing import Any

from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException

from bot.wechat.xmlfields import XmlRefused, xml_fields
from handlers.inbound import Inbound


class Forbidden(Exception):
    """Missing or wrong signature, wrong AppID, stale timestamp: serve nothing."""


class Malformed(Exception):
    """Authentic (or unverifiable) but unreadable: bad XML, missing fields, bad AES payload."""


def sign(*parts: str) -> str:
    """The platform's signature: sha1 of the sorted parts, concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - the platform's algorithm


def check_signature(token: str, signature: str, timestamp: str, nonce: str) -> None:
    if not (signature and timestamp and nonce):
        raise Forbidden("missing signature, timestamp or nonce")
    if not signature.isascii():
        raise Forbidden("signature is not hexadecimal")
    if not hmac.compare_digest(sign(token, timestamp, nonce), signature.lower()):
        raise Forbidden("signature mismatch")


def check_timestamp(timestamp: str, max_skew_seconds: int, now: float | None = None) -> None:
    """Refuse replays of old signed requests (and nonsense timestamps). 0 disables the age check."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Forbidden("timestamp is not a number of seconds")
    if max_skew_seconds and abs((now or time.time()) - int(timestamp)) > max_skew_seconds:
        raise Forbidden("timestamp too far from now")


@dataclass(frozen=True)
class AesCodec:
    """Compatible and safe mode: AES-256-CBC with the EncodingAESKey, the AppID appended to every plaintext."""

    token: str
    encoding_aes_key: str
    app_id: str

    @cached_property
    def _key(self) -> bytes:
        return base64.b64decode(self.encoding_aes_key + "=")

    def decrypt(self, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
        envelope = parse_xml(body)
        encrypted = envelope.get("Encrypt", "")
        if not encrypted:
            raise Malformed("no Encrypt element")
        if (
            not msg_signature
            or not msg_signature.isascii()
            or not hmac.compare_digest(sign(self.token, timestamp, nonce, encrypted), msg_signature.lower())
        ):
            raise Forbidden("msg_signature mismatch")
        try:
            return str(PrpCrypto(self._key).decrypt(encrypted, self.app_id))
        except InvalidAppIdException:
            raise Forbidden("message encrypted for another AppID") from None
        except (ValueError, TypeError, IndexError, KeyError, struct.error, binascii.Error, UnicodeError) as exc:
            raise Malformed(f"undecryptable payload ({type(exc).__name__})") from None

    def encrypt(self, plaintext: str, nonce: str, timestamp: str | None = None) -> str:
        timestamp = timestamp or str(int(time.time()))
        encrypted = PrpCrypto(self._key).encrypt(plaintext, self.app_id).decode()
        signature = sign(self.token, timestamp, nonce, encrypted)
        return (
            "<xml>"
            f"<Encrypt>{cdata(encrypted)}</Encrypt>"
            f"<MsgSignature>{cdata(signature)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce>{cdata(nonce)}</Nonce>"
            "</xml>"
        )


@cache
def aes_codec(token: str, encoding_aes_key: str, app_id: str) -> AesCodec:
    """The codec for one account's settings, built once per process."""
    return AesCodec(token, encoding_aes_key, app_id)


def parse_xml(body: bytes | str) -> dict[str, str]:
    """Top-level children of <xml> as text (`xml_fields`: no DTD, so no entity expansion)."""
    try:
        return xml_fields(body)
    except XmlRefused as exc:
        raise Malformed(f"unreadable XML: {exc}") from None


@dataclass(frozen=True)
class Envelope:
    """A parsed message: who sent it (only the webhook and intake see this) and what it says."""

    sender: str
    account: str
    inbound: Inbound


# Far above anything the platform sends, and within what the database columns hold.
FIELD_LIMITS = {
    "FromUserName": 128,
    "MsgType": 32,
    "MsgId": 64,
    "MsgID": 64,
    "MediaId": 256,
    "ThumbMediaId": 256,
    "Event": 64,
}


def to_inbound(fields: dict[str, str]) -> Envelope:
    """Map the platform's fields to an Inbound. Missing essentials are Malformed; odd values are tolerated."""
    sender, kind = fields.get("FromUserName", ""), fields.get("MsgType", "").lower()
    if not sender or not kind:
        raise Malformed("FromUserName or MsgType missing")
    for name, limit in FIELD_LIMITS.items():
        if len(fields.get(name, "")) > limit:
            raise Malformed(f"{name} longer than {limit} characters")
    values: dict[str, Any] = {
        "kind": kind,
        "created_at": _created_at(fields.get("CreateTime", "")),
        "msg_id": fields.get("MsgId") or fields.get("MsgID") or None,
    }
    if kind == "event":
        values["event"] = fields.get("Event", "").lower() or None
        values["event_key"] = fields.get("EventKey") or None
        values["latitude"] = _float(fields.get("Latitude"))
        values["longitude"] = _float(fields.get("Longitude"))
        values["precision"] = _float(fields.get("Precision"))
    else:
        values.update(_message_fields(kind, fields))
    return Envelope(sender=sender, account=fields.get("ToUserName", ""), inbound=Inbound(**values))


def _message_fields(kind: str, f: dict[str, str]) -> dict[str, Any]:
    if kind == "text":
        return {"content": f.get("Content", "")}
    if kind == "image":
        return {"media_id": f.get("MediaId"), "pic_url": f.get("PicUrl")}
    if kind == "voice":
        return {"media_id": f.get("MediaId"), "media_format": f.get("Format"), "recognition": f.get("Recognition")}
    if kind in {"video", "shortvideo"}:
        return {"media_id": f.get("MediaId"), "thumb_media_id": f.get("ThumbMediaId")}
    if kind == "location":
        return {
            "latitude": _float(f.get("Location_X")),
            "longitude": _float(f.get("Location_Y")),
            "precision": _float(f.get("Scale")),
            "label": f.get("Label"),
        }
    if kind == "link":
        return {"title": f.get("Title"), "description": f.get("Description"), "url": f.get("Url")}
    if kind == "file":
        return {"media_id": f.get("MediaId"), "title": f.get("Title"), "description": f.get("Description")}
    return {}


def _created_at(text: str) -> datetime:
    """The platform's CreateTime; a missing or absurd value falls back to now (it only feeds dedupe keys)."""
    now = time.time()
    try:
        value = int(text)
    except ValueError:
        value = int(now)
    if not 946684800 <= value <= now + 86400 * 365:  # 2000-01-01 .. a year ahead
        value = int(now)
    return datetime.fromtimestamp(value, UTC)


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and abs(value) <= 1e6 else None


def cdata(text: str) -> str:
    """CDATA that survives user text containing ']]>' (wechatpy does not escape it)."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_text_reply(to_user: str, from_account: str, content: str, now: int | None = None) -> str:
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_account)}</FromUserName>"
        f"<CreateTime>{now or int(time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )
