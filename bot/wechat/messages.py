"""Building inbound messages the way the platform sends them: XML, signed, optionally encrypted.

Used by `whistle simulate`, the benchmarks and the tests, so all three speak exactly what the webhook will hear.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bot.wechat.protocol import AesCodec, cdata, parse_xml, sign

_msg_ids = itertools.count(int(time.time() * 1000) % 10**12 * 1000)


def next_msg_id() -> str:
    return str(next(_msg_ids))


def message_xml(
    sender: str,
    kind: str,
    fields: dict[str, str],
    *,
    account: str = "gh_whistle",
    created: int | None = None,
    msg_id: str | None = None,
) -> str:
    """<xml> for a message (msg_id given or generated) or an event (kind="event", no MsgId)."""
    parts = [
        f"<ToUserName>{cdata(account)}</ToUserName>",
        f"<FromUserName>{cdata(sender)}</FromUserName>",
        f"<CreateTime>{created or int(time.time())}</CreateTime>",
        f"<MsgType>{cdata(kind)}</MsgType>",
    ]
    parts += [f"<{name}>{cdata(value)}</{name}>" for name, value in fields.items()]
    if kind != "event":
        parts.append(f"<MsgId>{msg_id or next_msg_id()}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


def text(sender: str, content: str, **kw: Any) -> str:
    return message_xml(sender, "text", {"Content": content}, **kw)


def image(sender: str, media_id: str, **kw: Any) -> str:
    fields = {"PicUrl": f"http://mmbiz.qpic.cn/{media_id}", "MediaId": media_id}
    return message_xml(sender, "image", fields, **kw)


def voice(sender: str, media_id: str, recognition: str = "", fmt: str = "amr", **kw: Any) -> str:
    fields = {"MediaId": media_id, "Format": fmt, "Recognition": recognition}
    return message_xml(sender, "voice", fields, **kw)


def location(sender: str, lat: float, lon: float, label: str = "", **kw: Any) -> str:
    fields = {"Location_X": str(lat), "Location_Y": str(lon), "Scale": "15", "Label": label}
    return message_xml(sender, "location", fields, **kw)


def event(sender: str, name: str, key: str = "", **kw: Any) -> str:
    fields = {"Event": name}
    if key:
        fields["EventKey"] = key
    return message_xml(sender, "event", fields, **kw)


@dataclass(frozen=True)
class SignedRequest:
    query: dict[str, str]
    body: bytes


def signed(
    xml: str, token: str, *, codec: AesCodec | None = None, timestamp: str | None = None, nonce: str | None = None
) -> SignedRequest:
    """Query string and body as the platform sends them: plain mode, or safe mode when `codec` is given."""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**9))
    query = {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    if codec is None:
        return SignedRequest(query, xml.encode())
    envelope = parse_xml(codec.encrypt(xml, nonce, timestamp))
    body = f"<xml><ToUserName>{cdata('gh_whistle')}</ToUserName><Encrypt>{cdata(envelope['Encrypt'])}</Encrypt></xml>"
    query.update({"encrypt_type": "aes", "msg_signature": envelope["MsgSignature"], "openid": "unsigned"})
    return SignedRequest(query, body.encode())


def read_reply(body: bytes, codec: AesCodec | None = None, query: dict[str, str] | None = None) -> str:
    """The text of a reply (decrypting a safe-mode one); '' for `success` or an empty body."""
    if body in (b"", b"success"):
        return ""
    fields = parse_xml(body)
    if "Encrypt" in fields and codec is not None:
        fields = parse_xml(codec.decrypt(body, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]))
    return fields.get("Content", "")
