"""Bad input gets a defined answer (403, 400, 413 or `success`), is logged, stores nothing, and crashes nothing."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from bot.wechat import messages as msg
from bot.wechat.protocol import AesCodec, sign
from storage.models import InboundMessage, Reporter
from tests.support.harness import AES_KEY, TOKEN

WORKER = "oWorker-bad-input"


def stored(harness) -> int:
    with harness.services.sessions() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage)) + s.scalar(
            select(func.count()).select_from(Reporter)
        )


def post_raw(harness, body: bytes, **query):
    ts = str(int(harness.clock.now.timestamp()))
    nonce = "12345"
    params = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, **query}
    return harness.client.post("/wechat", query_string=params, data=body, content_type="text/xml")


def test_url_check_echoes_only_with_a_good_signature(harness):
    ts, nonce = "1700000000", "42"
    good = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "hello-123"}
    assert harness.client.get("/wechat", query_string=good).data == b"hello-123"
    bad = {**good, "signature": "0" * 40}
    assert harness.client.get("/wechat", query_string=bad).status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"signature": "0" * 40, "timestamp": "1700000000", "nonce": "1"},
        {"signature": "", "timestamp": "1700000000", "nonce": "1"},
    ],
    ids=["missing", "forged", "empty"],
)
def test_wrong_or_missing_signature_is_403_and_stores_nothing(harness, query):
    response = harness.client.post("/wechat", query_string=query, data=msg.text(WORKER, "hi"))
    assert response.status_code == 403
    assert stored(harness) == 0


@pytest.mark.parametrize("timestamp", ["abc", "-5", "99999999999999999999", "1"], ids=["text", "neg", "huge", "old"])
def test_absurd_or_stale_timestamps_are_403(harness, timestamp):
    nonce = "7"
    query = {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    response = harness.client.post("/wechat", query_string=query, data=msg.text(WORKER, "hi"))
    assert response.status_code == 403
    assert stored(harness) == 0


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<xml><FromUserName>x</FromUserName><MsgType>text</MsgType><Content>&lol3;</Content></xml>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b"<xml><FromUserName>x</FromUserName><MsgType>text</MsgType><Content>&e;</Content></xml>"
)


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><FromUserName>x</FromUserName",
        b"not xml at all",
        b"",
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        b"<html><FromUserName>x</FromUserName><MsgType>text</MsgType></html>",
        b"<xml><MsgType>text</MsgType><Content>no sender</Content></xml>",
        b"<xml><FromUserName>x</FromUserName><Content>no type</Content></xml>",
        "<xml><FromUserName>x</FromUserName><MsgType>text</MsgType><Content>\xff</Content></xml>".encode("latin-1"),
    ],
    ids=[
        "truncated",
        "text",
        "empty",
        "entity-expansion",
        "external-entity",
        "wrong-root",
        "no-sender",
        "no-type",
        "invalid-utf8",
    ],
)
def test_malformed_bodies_are_400_and_store_nothing(harness, body):
    response = post_raw(harness, body)
    assert response.status_code == 400
    assert stored(harness) == 0


def test_oversized_body_is_413(harness):
    body = msg.text(WORKER, "隐" * 40000).encode()
    response = post_raw(harness, body)
    assert response.status_code == 413
    assert stored(harness) == 0


def test_bad_aes_payload_with_a_valid_msg_signature_is_400(harness):
    ts, garbage = str(int(harness.clock.now.timestamp())), "bm90LWFlcy1hdC1hbGw="
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>".encode()
    response = post_raw(harness, body, encrypt_type="aes", msg_signature=sign(TOKEN, ts, "12345", garbage))
    assert response.status_code == 400
    assert stored(harness) == 0


def test_encrypted_body_with_a_wrong_msg_signature_is_403(harness):
    req = msg.signed(msg.text(WORKER, "hi"), TOKEN, codec=harness.codec, timestamp=str(int(time.time())))
    query = {**req.query, "msg_signature": "f" * 40}
    response = harness.client.post("/wechat", query_string=query, data=req.body)
    assert response.status_code == 403
    assert stored(harness) == 0


def test_message_encrypted_for_another_appid_is_403(harness):
    other = AesCodec(TOKEN, AES_KEY, "wxSomeOtherAccount00")
    req = msg.signed(msg.text(WORKER, "hi"), TOKEN, codec=other, timestamp=str(int(time.time())))
    response = harness.client.post("/wechat", query_string=req.query, data=req.body)
    assert response.status_code == 403
    assert stored(harness) == 0


def test_unknown_message_type_gets_a_helpful_answer(harness):
    xml = msg.message_xml(WORKER, "miniprogrampage", {"Title": "x"})
    reply = harness.say(xml)
    assert "暂时不支持" in reply


def test_reply_text_containing_cdata_terminator_stays_valid_xml(harness):
    reply = harness.say(msg.location(WORKER, 29.8, 118.4, label="危险]]><b>品仓库"))
    assert "危险]]><b>品仓库" in reply


def test_unsigned_openid_parameter_is_ignored(harness):
    req = msg.signed(msg.text(WORKER, "电线老化"), TOKEN, codec=harness.codec, timestamp=str(int(time.time())))
    query = {**req.query, "openid": "oSomebodyElse"}
    harness.client.post("/wechat", query_string=query, data=req.body)
    with harness.services.sessions() as s:
        reporter = s.scalars(select(Reporter)).one()
        assert harness.services.vault.open(reporter.sealed_openid) == WORKER
