"""The `/wechat` endpoint: verify, decrypt, parse, hand over, answer. Thin on purpose, and fast whatever happens.

Answers:
    GET with a good signature     -> echostr (the platform's URL check)
    bad or missing signature      -> 403, nothing stored
    wrong AppID, stale timestamp  -> 403, nothing stored
    unreadable body               -> 400, nothing stored (logged)
    body over the size limit      -> 413
    anything accepted             -> the reply (encrypted when the request was), or `success`
    database down after parsing   -> the message is sealed into the spool and acknowledged ("已收到，稍后回复");
                                     the sweeper replays it and the real answer goes out as a message
    spool not writable either     -> 503: the platform retries (the only case where we ask it to)
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, request

from bot.intake import accept
from bot.services import Services
from bot.wechat.protocol import (
    Forbidden,
    Malformed,
    aes_codec,
    check_signature,
    check_timestamp,
    parse_xml,
    render_text_reply,
    to_inbound,
)
from handlers.texts import SPOOLED

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)
SUCCESS = "success"


def _services() -> Services:
    services: Services = current_app.extensions["whistle"]
    return services


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


@bp.get("/wechat")
def verify_url() -> Response:
    wechat = _services().settings.wechat
    args = request.args
    try:
        check_signature(wechat.token, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    except Forbidden as exc:
        log.warning("url check refused", extra={"reason": str(exc)})
        return _text("forbidden", 403)
    return _text(args.get("echostr", ""))


@bp.post("/wechat")
def receive() -> Response:
    started = time.perf_counter()
    services = _services()
    settings = services.settings
    # A plain dict: werkzeug's MultiDict raises (and builds) a 400 error for each missing key `get` asks for, and a
    # plaintext message lacks two (encrypt_type, msg_signature).
    args = request.args.to_dict()
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    encrypted = args.get("encrypt_type", "raw").lower() == "aes"
    try:
        check_signature(settings.wechat.token, args.get("signature", ""), timestamp, nonce)
        check_timestamp(timestamp, settings.webhook_max_clock_skew_seconds)
        if (request.content_length or 0) > settings.webhook_max_body_bytes:
            return _text("body too large", 413)
        body = request.get_data(cache=False)
        if len(body) > settings.webhook_max_body_bytes:
            return _text("body too large", 413)
        codec = aes_codec(settings.wechat.token, settings.wechat.encoding_aes_key, settings.wechat.app_id)
        xml = codec.decrypt(body, args.get("msg_signature", ""), timestamp, nonce) if encrypted else body
        envelope = to_inbound(parse_xml(xml))
    except Forbidden as exc:
        log.warning("webhook refused", extra={"reason": str(exc)})
        return _text("forbidden", 403)
    except Malformed as exc:
        log.warning("webhook got an unreadable message", extra={"reason": str(exc)})
        return _text("bad request", 400)
    try:
        reply = accept(services, envelope)
    except Exception:
        # Most likely the database is down. Keep the message sealed on disk; the sweeper replays it later and the
        # answer then goes out as a message. The platform gets a 200 either way: a retry would fail the same way.
        log.exception("could not store the message; spooled for replay")
        try:
            services.spool.put(xml if isinstance(xml, bytes) else xml.encode())
        except OSError:
            log.exception("could not spool the message either")
            return _text("service unavailable", 503)
        reply = SPOOLED
    # Debug only: intake already logs one line per message (the latency histogram is in /metrics).
    log.debug("webhook answered", extra={"ms": round((time.perf_counter() - started) * 1000, 2)})
    if not reply:
        return _text(SUCCESS)
    xml_reply = render_text_reply(envelope.sender, envelope.account, reply)
    if encrypted:
        xml_reply = codec.encrypt(xml_reply, nonce)
    return Response(xml_reply, mimetype="application/xml")
