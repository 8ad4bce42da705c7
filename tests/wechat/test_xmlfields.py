"""`xml_fields` reads what ElementTree (hardened by defusedxml) would read, and refuses what it would refuse."""

from __future__ import annotations

import time
from xml.etree.ElementTree import ParseError

import pytest
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.wechat import messages
from bot.wechat.xmlfields import XmlRefused, xml_fields


def reference(body: bytes | str) -> dict[str, str] | None:
    """The tree parser's reading: None where it refuses (a codec it cannot find counts as refused)."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError, UnicodeError, LookupError):
        return None
    if root.tag != "xml":
        return None
    return {child.tag: (child.text or "").strip() if len(child) == 0 else "" for child in root}


def reading(body: bytes | str) -> dict[str, str] | None:
    try:
        return xml_fields(body)
    except XmlRefused:
        return None


def test_a_platform_message_reads_as_its_fields():
    body = messages.text("oWorker", "  车间配电箱门坏了 <裸露> & 漏电  ")
    fields = xml_fields(body)
    assert fields["FromUserName"] == "oWorker"
    assert fields["MsgType"] == "text"
    assert fields["Content"] == "车间配电箱门坏了 <裸露> & 漏电"
    assert fields == reference(body)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ("<xml><a>1</a><b><c>2</c>tail</b><a>3</a></xml>", {"a": "3", "b": ""}),  # nested reads "", last one wins
        ("<xml><a>&amp;&lt;&#20013;</a></xml>", {"a": "&<中"}),
        ("<xml><a><![CDATA[ x ]]> y </a></xml>", {"a": "x  y"}),
        ("<xml><n:a xmlns:n='urn:x'>1</n:a></xml>", {"{urn:x}a": "1"}),
        ("<xml/>", {}),
    ],
)
def test_children_read_as_elementtree_reads_them(body, fields):
    assert xml_fields(body) == fields == reference(body)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "<xml>",
        "<html><a>1</a></html>",
        "<n:xml xmlns:n='urn:x'><a>1</a></n:xml>",
        "<xml><a>1</a></xml><b/>",
        "<xml><a>&undeclared;</a></xml>",
        '<!DOCTYPE xml [<!ENTITY e "x">]><xml><a>&e;</a></xml>',
        '<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd"><xml><a>1</a></xml>',
        '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>',
        b'<?xml version="1.0" encoding="utf-1"?><xml><a>1</a></xml>',  # bytes: a str is read as the text it is
        b'<?xml version="1.0" encoding="gbk"?><xml><a>1</a></xml>',
        b"<xml><a>\xff\xfe</a></xml>",
    ],
)
def test_what_cannot_be_read_safely_is_refused(body):
    with pytest.raises(XmlRefused):
        xml_fields(body)
    assert reference(body) is None


def test_a_billion_laughs_is_refused_at_once():
    entities = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    bomb = f'<!DOCTYPE xml [<!ENTITY l0 "lol">{entities}]><xml><a>&l9;</a></xml>'
    started = time.perf_counter()
    with pytest.raises(XmlRefused, match="document type"):
        xml_fields(bomb)
    assert time.perf_counter() - started < 0.1


PIECES = [
    "<xml>", "</xml>", "<a>", "</a>", "<b/>", "<Content>", "</Content>", "<![CDATA[", "]]>", "&amp;", "&x;", "&#0;",
    "<!DOCTYPE xml>", '<?xml version="1.0"?>', "<!-- c -->", "<?pi x?>", " ", "文", "<", ">", "'", '"', "=", "\x00",
    "<n:a xmlns:n='u'>", "</n:a>", "<XML>", "\ufeff",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=14).map("".join),
    st.sampled_from(["utf-8", "utf-16", "latin-1", "str"]),
)
def test_any_document_reads_the_same_as_with_elementtree(text, encoding):
    body: bytes | str = text if encoding == "str" else text.encode(encoding, errors="replace")
    assert reading(body) == reference(body)
