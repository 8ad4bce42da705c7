"""Property-based fuzzing of the webhook: whatever the query and the body, the answer is 200, 400, 403 or 413.

A 200 is `success` or well-formed XML; nothing raises out of the app (the test client propagates exceptions), and the
service logs no error (an error means it swallowed a failure of its own). One harness per test: the examples of a test
share its database, which only makes the later examples meet more state.
"""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.wechat import messages as msg
from bot.wechat.protocol import AesCodec, cdata, parse_xml, sign
from storage.models import InboundMessage
from tests.hostile.common import (
    ErrorCollector,
    check_response,
    post_raw,
    signed_query,
)
from tests.support.harness import AES_KEY, APP_ID, TOKEN

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
SENDER = "oFuzz-Sender-0001"
QUERY_KEYS = ["signature", "timestamp", "nonce", "encrypt_type", "msg_signature", "echostr", "openid"]


def inbound_rows(harness) -> int:
    with harness.services.sessions() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage))


# --- the query string ------------------------------------------------------------------------------------------

garbage = st.text(max_size=60) | st.sampled_from(["", "0" * 40, "aes", "AES", "raw", "%00", "../", "1e9", "-1"])
fresh = st.builds(lambda skew: str(int(time.time()) + skew), st.integers(-250, 250))
stale = st.builds(lambda skew: str(int(time.time()) + skew), st.integers(301, 10**6) | st.integers(-(10**6), -301))
timestamps = fresh | stale | garbage | st.from_regex(r"\A\d{1,20}\Z")


@st.composite
def queries(draw: st.DrawFn) -> tuple[dict[str, str], bool, bool]:
    """A query dict, whether its signature is right, and whether its timestamp is fresh."""
    query = draw(st.dictionaries(st.sampled_from(QUERY_KEYS) | st.text(max_size=12), garbage, max_size=7))
    good = draw(st.booleans())
    fresh_ts = False
    if good:
        timestamp, nonce = draw(timestamps), draw(st.text(min_size=1, max_size=20))
        query.update({"timestamp": timestamp, "nonce": nonce, "signature": sign(TOKEN, timestamp, nonce)})
        good = bool(timestamp)
        fresh_ts = (
            timestamp.isascii()
            and timestamp.isdecimal()
            and len(timestamp) <= 12
            and abs(time.time() - int(timestamp)) < 290
        )
        if draw(st.booleans()):
            query["signature"] = query["signature"].upper()
    return query, good, fresh_ts


@FUZZ
@given(case=queries())
def test_arbitrary_query_strings_get_a_defined_answer(harness, case):
    query, good_signature, fresh_ts = case
    before = inbound_rows(harness)
    with ErrorCollector() as errors:
        response = harness.client.post("/wechat", query_string=query, data=msg.text(SENDER, "配电箱门坏了"))
    check_response(response)
    accepted = good_signature and fresh_ts and query.get("encrypt_type", "raw").lower() != "aes"
    if not (good_signature and fresh_ts):
        assert response.status_code == 403
        assert inbound_rows(harness) == before
    elif accepted:
        assert response.status_code == 200
    assert not errors.records, errors.describe()

    echo = harness.client.get("/wechat", query_string=query)
    assert echo.status_code in (200, 403)
    if echo.status_code == 200:
        assert good_signature
        assert echo.data.decode() == query.get("echostr", "")


@pytest.mark.parametrize("timestamp", ["²", "1700000000²", "①"])
def test_superscript_digit_timestamp_with_a_valid_signature_is_403(harness, timestamp):
    query = {"signature": sign(TOKEN, timestamp, "7"), "timestamp": timestamp, "nonce": "7"}
    response = harness.client.post("/wechat", query_string=query, data=msg.text(SENDER, "hi"))
    assert response.status_code == 403


# --- the body ------------------------------------------------------------------------------------------------

TAGS = ["xml", "ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "MediaId", "Event", "Encrypt"]
tag_names = st.sampled_from(TAGS) | st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_.-]{0,15}\Z")
nasty_text = (
    st.text(max_size=80)
    | st.sampled_from(["]]>", "<![CDATA[", "&amp;", "&lol;", "&#0;", "&#x1;", "\x00", "\x07", "\ufffe", "\U0001f4a3"])
    | st.builds(lambda n: "隐" * n, st.integers(0, 30000))
)


def text_node(draw: st.DrawFn) -> str:
    value = draw(nasty_text)
    return cdata(value) if draw(st.booleans()) else value.replace("&", "&amp;").replace("<", "&lt;")


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(tag_names)
    if depth < 3 and draw(st.integers(0, 3)) == 0:
        inner = "".join(draw(st.lists(elements(depth + 1), max_size=4)))
    else:
        inner = text_node(draw)
    return f"<{tag}>{inner}</{tag}>"


DTDS = [
    "",
    '<?xml version="1.0" encoding="utf-8"?>',
    '<?xml version="1.0" encoding="gbk"?>',
    '<?xml version="1.0" encoding="utf-1"?>',
    '<!DOCTYPE xml [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>',
    '<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd">',
    '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    '<?xml-stylesheet href="x"?>',
]


@st.composite
def xml_bodies(draw: st.DrawFn) -> bytes:
    children = draw(st.lists(elements(1), max_size=8))
    if draw(st.booleans()):  # most bodies should get past the first checks
        children += [f"<FromUserName>{cdata(SENDER)}</FromUserName>", "<MsgType>text</MsgType>"]
        children = draw(st.permutations(children))
    root = draw(st.sampled_from(["xml", "xml", "xml", "html", "XML"]))
    body = f"{draw(st.sampled_from(DTDS))}<{root}>{''.join(children)}</{root}>"
    if draw(st.integers(0, 4)) == 0:  # truncated
        body = body[: draw(st.integers(0, len(body)))]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "gbk", "latin-1"]))
    return body.encode(encoding, errors="replace")


bodies = (
    st.binary(max_size=2048)
    | xml_bodies()
    | st.builds(lambda n: b"<xml>" + b"a" * n + b"</xml>", st.integers(0, 70000))
)


@FUZZ
@given(body=bodies)
def test_arbitrary_signed_bodies_get_a_defined_answer(harness, body):
    with ErrorCollector() as errors:
        response = post_raw(harness, body)
    check_response(response)
    if len(body) > harness.settings.webhook_max_body_bytes:
        assert response.status_code == 413
    assert not errors.records, errors.describe()


def test_entity_expansion_inside_a_signed_message_is_refused(harness):
    bomb = (
        '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(7))
        + "]>"
        + f"<xml><FromUserName>{SENDER}</FromUserName><MsgType>text</MsgType><Content>&h;</Content></xml>"
    )
    started = time.perf_counter()
    response = post_raw(harness, bomb.encode())
    assert response.status_code == 400
    assert time.perf_counter() - started < 2
    assert inbound_rows(harness) == 0


@pytest.mark.parametrize("encoding", ["utf-1", "x-no-such-codec", "gbk", "utf-32"])
def test_a_declared_encoding_that_cannot_be_read_is_400(harness, encoding):
    # An unknown name made the parser's codec lookup fail with LookupError, which no handler expected: a 500.
    body = f'<?xml version="1.0" encoding="{encoding}"?><xml><FromUserName>{SENDER}</FromUserName>'
    body += "<MsgType>text</MsgType><Content>配电箱</Content></xml>"
    with ErrorCollector() as errors:
        response = post_raw(harness, body.encode())
    assert response.status_code == 400
    assert inbound_rows(harness) == 0
    assert not errors.records, errors.describe()


def test_a_body_over_the_limit_with_a_lying_content_length_is_413(harness):
    body = msg.text(SENDER, "x" * (harness.settings.webhook_max_body_bytes + 10)).encode()
    response = harness.client.post(
        "/wechat", query_string=signed_query(), data=body, headers={"Content-Length": "10"}, content_type="text/xml"
    )
    assert response.status_code in (400, 413)
    assert inbound_rows(harness) == 0


# --- correctly signed, semantically wrong ----------------------------------------------------------------------

KINDS = ["text", "image", "voice", "video", "shortvideo", "location", "link", "file", "event", "1", "0", "TEXT", ""]
FIELDS = [
    "CreateTime",
    "Content",
    "MediaId",
    "PicUrl",
    "Format",
    "Recognition",
    "ThumbMediaId",
    "Location_X",
    "Location_Y",
    "Scale",
    "Label",
    "Title",
    "Description",
    "Url",
    "Event",
    "EventKey",
    "Latitude",
    "Longitude",
    "Precision",
    "MsgID",
]
xml_safe_text = st.text(
    st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from("\t\n\r"), max_size=60
)  # what an XML 1.0 document can carry
odd_values = xml_safe_text | st.sampled_from(
    ["abc", "", "nan", "inf", "-inf", "1e400", "-0", "9" * 30, "１２３", "0x10", " 12 ", "None", "null"]
)
event_names = st.sampled_from(
    ["subscribe", "unsubscribe", "CLICK", "VIEW", "LOCATION", "SCAN", "TEMPLATESENDJOBFINISH"]
)


@st.composite
def semantic_messages(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(KINDS) | xml_safe_text.map(lambda s: s[:20]))
    fields = draw(st.dictionaries(st.sampled_from(FIELDS), odd_values, max_size=8))
    if kind == "event" and draw(st.booleans()):
        fields["Event"] = draw(event_names)
    if "MediaId" in fields:
        fields["MediaId"] = fields["MediaId"][:64]
    if "EventKey" in fields:  # long keys: see test_long_values_are_stored_or_refused
        fields["EventKey"] = fields["EventKey"][:40]
    sender = draw(st.sampled_from([SENDER, "oFuzz-2", "x" * 10240, " ", "o" + "\u202e" * 3]))
    xml = msg.message_xml(sender, "x", fields, msg_id=str(draw(st.integers(0, 2**64))))
    # message_xml puts MsgType in CDATA; a raw, odd one tests the parser's view of it too
    xml = xml.replace("<MsgType><![CDATA[x]]></MsgType>", f"<MsgType>{cdata(kind)}</MsgType>")
    if draw(st.booleans()):
        xml = xml.replace(f"<CreateTime>{int(time.time())}", f"<CreateTime>{draw(odd_values)}", 1)
    return xml


@FUZZ
@given(xml=semantic_messages(), encrypt=st.booleans())
def test_signed_messages_with_wrong_types_are_answered(harness, xml, encrypt):
    with ErrorCollector() as errors:
        response = harness.post(xml, encrypt=encrypt)
    fields = check_response(response)
    if encrypt and fields is not None:
        plain = harness.codec.decrypt(response.data, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
        assert set(parse_xml(plain)) == {"ToUserName", "FromUserName", "CreateTime", "MsgType", "Content"}
    assert not errors.records, errors.describe()


def test_a_ten_kilobyte_sender_is_400_and_stores_nothing(harness):
    response = harness.post(msg.text("o" * 10240, "hi"))
    assert response.status_code == 400
    assert inbound_rows(harness) == 0


@pytest.mark.parametrize(
    "xml",
    [
        msg.event(SENDER, "VIEW", key="https://mp.weixin.qq.com/s/" + "A" * 100),  # a realistic menu URL
        msg.event(SENDER, "CLICK", key="K" * 130),
        msg.image(SENDER, "M" * 300),
        msg.text(SENDER, "hi", msg_id="9" * 130),
        msg.message_xml(SENDER, "miniprogrampage_with_a_longer_type", {}),
    ],
    ids=["view-url-100", "click-key-130", "media-id-300", "msg-id-130", "msg-type-34"],
)
def test_long_values_are_stored_or_refused(harness, xml):
    with ErrorCollector() as errors:
        response = harness.post(xml)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert inbound_rows(harness) == 1, "answered 200 but the message was not stored"
    assert not errors.records, errors.describe()


def test_a_draft_with_a_long_location_label_can_be_submitted(harness):
    harness.say(msg.location(SENDER, 29.8, 118.4, label="东方红化工厂" * 60))
    harness.say(msg.text(SENDER, "仓库门口堆放了很多桶"))
    with ErrorCollector() as errors:
        reply = harness.say(msg.text(SENDER, "提交"))
    assert "案件编号" in reply
    assert not errors.records, errors.describe()


# --- safe mode -------------------------------------------------------------------------------------------------


@FUZZ
@given(app_id=st.text(max_size=30).filter(lambda a: a != APP_ID), content=xml_safe_text)
def test_messages_encrypted_for_another_appid_are_403(harness, app_id, content):
    other = AesCodec(TOKEN, AES_KEY, app_id)
    req = msg.signed(msg.text(SENDER, content), TOKEN, codec=other)
    response = harness.client.post("/wechat", query_string=req.query, data=req.body)
    assert response.status_code in (400, 403)  # 400 when the foreign AppID is not even valid UTF-8 after decryption
    assert inbound_rows(harness) == 0


encrypt_payloads = (
    st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())
    | st.text(max_size=200)
    | st.binary(min_size=16, max_size=320).map(lambda b: base64.b64encode(b[: len(b) // 16 * 16]).decode())
)


@FUZZ
@given(payload=encrypt_payloads, right_signature=st.booleans())
def test_garbage_encrypt_payloads_are_400_or_403(harness, payload, right_signature):
    ts, nonce = str(int(time.time())), "99"
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt>{cdata(payload)}</Encrypt></xml>".encode()
    signature = sign(TOKEN, ts, nonce, payload.strip()) if right_signature else "e" * 40
    query = signed_query(ts, nonce, encrypt_type="aes", msg_signature=signature)
    with ErrorCollector() as errors:
        response = post_raw(harness, body, query)
    check_response(response)
    assert response.status_code in (400, 403)
    assert inbound_rows(harness) == 0
    assert not errors.records, errors.describe()


def test_encrypted_replies_are_valid_xml_and_decrypt(harness):
    response = harness.post(msg.text(SENDER, "配电箱]]><b>门坏了</b>"), encrypt=True)
    fields = check_response(response)
    assert fields is not None and set(fields) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    plain = parse_xml(
        harness.codec.decrypt(response.data, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
    )
    assert plain["ToUserName"] == SENDER and plain["Content"]


# --- replays and stale requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encrypt", [False, True], ids=["plain", "aes"])
def test_the_same_signed_message_posted_twice_is_stored_once(harness, encrypt):
    req = msg.signed(msg.text(SENDER, "冲床光电保护被拆了"), TOKEN, codec=harness.codec if encrypt else None)
    first = harness.client.post("/wechat", query_string=req.query, data=req.body, content_type="text/xml")
    second = harness.client.post("/wechat", query_string=req.query, data=req.body, content_type="text/xml")
    assert first.status_code == second.status_code == 200
    assert msg.read_reply(first.data, harness.codec) == msg.read_reply(second.data, harness.codec) != ""
    assert inbound_rows(harness) == 1


def test_a_replayed_event_is_stored_once(harness):
    xml = msg.event(SENDER, "subscribe", created=int(time.time()))
    req = msg.signed(xml, TOKEN)
    # The reply's CreateTime is the moment it is sent, so the bytes may differ across a second; the answer may not.
    replies = [
        msg.read_reply(harness.client.post("/wechat", query_string=req.query, data=req.body).data) for _ in range(3)
    ]
    assert len(set(replies)) == 1 and replies[0] != ""
    assert inbound_rows(harness) == 1


@pytest.mark.parametrize("age", [301, 3600, 86400 * 30, -301, -86400])
def test_stale_or_future_timestamps_are_403_and_store_nothing(harness, age):
    assert harness.settings.webhook_max_clock_skew_seconds == 300
    timestamp = str(int(time.time()) - age)
    response = harness.post(msg.text(SENDER, "hi"), timestamp=timestamp)
    assert response.status_code == 403
    response = harness.post(msg.text(SENDER, "hi"), timestamp=timestamp, encrypt=True)
    assert response.status_code == 403
    assert inbound_rows(harness) == 0


def test_a_timestamp_within_the_skew_is_accepted(harness):
    response = harness.post(msg.text(SENDER, "hi"), timestamp=str(int(time.time()) - 250))
    assert response.status_code == 200
    assert inbound_rows(harness) == 1


def test_a_captured_request_replayed_after_the_skew_is_403(harness):
    old = str(int(time.time()) - 400)
    req = msg.signed(msg.text(SENDER, "hi"), TOKEN, timestamp=old)
    assert harness.client.post("/wechat", query_string=req.query, data=req.body).status_code == 403
    assert inbound_rows(harness) == 0


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("signature", ["é", "\ufffd" * 40, "ａ" * 40], ids=["e-acute", "replacement", "fullwidth"])
def test_non_ascii_signatures_are_403(harness, method, signature):
    query = {"signature": signature, "timestamp": str(int(time.time())), "nonce": "5", "echostr": "x"}
    response = harness.client.open("/wechat", method=method, query_string=query, data=msg.text(SENDER, "hi"))
    assert response.status_code == 403


def test_invalid_utf8_in_the_raw_query_string_is_403(harness):
    response = harness.client.post(
        f"/wechat?signature=%FF%FE&timestamp={int(time.time())}&nonce=5", data=msg.text(SENDER, "hi")
    )
    assert response.status_code == 403


def test_non_ascii_msg_signature_is_403(harness):
    req = msg.signed(msg.text(SENDER, "hi"), TOKEN, codec=harness.codec)
    response = harness.client.post("/wechat", query_string={**req.query, "msg_signature": "签名"}, data=req.body)
    assert response.status_code == 403


@FUZZ
@given(signature=st.text(st.characters(max_codepoint=127), max_size=50) | st.from_regex(r"\A[0-9a-f]{40}\Z"))
def test_forged_signatures_are_403(harness, signature):
    ts, nonce = str(int(time.time())), "5"
    if signature.lower() == sign(TOKEN, ts, nonce):
        return
    query = {"signature": signature, "timestamp": ts, "nonce": nonce}
    response = harness.client.post("/wechat", query_string=query, data=msg.text(SENDER, "hi"))
    assert response.status_code == 403
    assert harness.client.get("/wechat", query_string={**query, "echostr": "x"}).status_code == 403
    assert inbound_rows(harness) == 0
