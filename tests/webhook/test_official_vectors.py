"""The platform's own encryption test vectors, byte for byte: if these pass, the webhook talks to the real platform."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from wechatpy.crypto import PrpCrypto

from bot.wechat import messages as msg
from bot.wechat.protocol import AesCodec, parse_xml, sign

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "wechat_samples.json").read_text())["official_vectors"]


@pytest.fixture
def old_timestamps_allowed(harness):
    """The vectors were signed in 2014: switch the replay window off for them."""
    harness.services.settings = dataclasses.replace(harness.services.settings, webhook_max_clock_skew_seconds=0)
    return harness


def post_vector(harness, vector, *, with_plain_signature: bool):
    query = {
        "timestamp": vector["timestamp"],
        "nonce": vector["nonce"],
        "encrypt_type": "aes",
        "msg_signature": vector["msg_signature"],
    }
    query["signature"] = vector.get("signature") or sign("spamtest", vector["timestamp"], vector["nonce"])
    return harness.client.post("/wechat", query_string=query, data=vector["body"], content_type="text/xml")


@pytest.mark.parametrize("name", ["python_sample_decrypt", "cpp_sample_decrypt"])
def test_official_ciphertexts_decrypt_to_the_official_plaintext(name):
    v = VECTORS[name]
    codec = AesCodec(v["token"], v["encoding_aes_key"], v["app_id"])
    assert codec.decrypt(v["body"].encode(), v["msg_signature"], v["timestamp"], v["nonce"]) == v["plaintext"]


def test_official_encryption_vector_matches_with_the_same_random_prefix():
    v = VECTORS["java_sample_encrypt"]

    class FixedRandom(PrpCrypto):
        def get_random_string(self) -> str:
            return v["random"]

    import base64

    key = base64.b64decode(v["encoding_aes_key"] + "=")
    assert FixedRandom(key).encrypt(v["plaintext"], v["app_id"]).decode() == v["ciphertext"]
    assert PrpCrypto(key).decrypt(v["ciphertext"], v["app_id"]) == v["plaintext"]


@pytest.mark.parametrize("name", ["python_sample_decrypt", "cpp_sample_decrypt"])
def test_webhook_accepts_official_vectors_and_answers_encrypted(old_timestamps_allowed, name):
    harness = old_timestamps_allowed
    v = VECTORS[name]
    response = post_vector(harness, v, with_plain_signature=True)
    assert response.status_code == 200
    envelope = parse_xml(response.data)
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert envelope["Nonce"] == v["nonce"]
    assert sign(v["token"], envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"]) == envelope["MsgSignature"]
    reply = parse_xml(harness.codec.decrypt(response.data, envelope["MsgSignature"], envelope["TimeStamp"], v["nonce"]))
    assert reply["ToUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert reply["MsgType"] == "text" and "已收到文字说明" in reply["Content"]


def test_the_same_vector_twice_is_one_message(old_timestamps_allowed):
    from sqlalchemy import func, select

    from storage.models import InboundMessage

    harness = old_timestamps_allowed
    v = VECTORS["python_sample_decrypt"]
    first = post_vector(harness, v, with_plain_signature=True)
    second = post_vector(harness, v, with_plain_signature=True)
    assert first.status_code == second.status_code == 200
    codec = harness.codec
    assert msg.read_reply(first.data, codec) == msg.read_reply(second.data, codec)
    with harness.services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1
