"""The platform's XML, read straight off expat: the text of each child of `<xml>`, and nothing else.

A message is one flat element of a dozen children, and the webhook reads one per request. Building an element tree
(and, with defusedxml, a hardened parser object around it) for that cost four times what the fields are worth, so
the parser collects them as expat reports them. It is as strict as defusedxml's defaults: a document type
declaration is refused outright (no DTD, so no entity can be declared: no entity expansion, no external entities),
and an entity that was not declared is a syntax error.
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat


class XmlRefused(ValueError):
    """Not a readable platform message: syntax error, a DTD, or a root other than `<xml>`."""


def xml_fields(body: bytes | str) -> dict[str, str]:
    """`{tag: text}` for the children of the root `<xml>` element, text stripped; a child that has children of its
    own reads as "". A tag that occurs twice keeps its last value."""
    reader = _FieldReader()
    parser = expat.ParserCreate(namespace_separator="}")  # a namespaced name reads "{uri}name", as ElementTree has it
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_entity
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text
    try:
        parser.Parse(body, True)
    except XmlRefused:
        raise
    except expat.ExpatError as exc:
        raise XmlRefused(f"syntax error ({expat.ErrorString(exc.code)})") from None
    except (ValueError, UnicodeError, LookupError) as exc:  # a declared encoding unknown, or one expat cannot read
        raise XmlRefused(f"unreadable ({exc})") from None
    return reader.fields


class _FieldReader:
    __slots__ = ("depth", "fields", "name", "nested", "parts")

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.depth = 0
        self.name = ""
        self.parts: list[str] = []
        self.nested = False

    def start(self, tag: str, _attributes: Any) -> None:
        if "}" in tag:
            tag = "{" + tag
        self.depth += 1
        if self.depth == 2:
            self.name, self.parts, self.nested = tag, [], False
        elif self.depth > 2:
            self.nested = True
        elif tag != "xml":
            raise XmlRefused(f"root element is <{tag[:20]}>, not <xml>")

    def end(self, _tag: str) -> None:
        if self.depth == 2:
            self.fields[self.name] = "" if self.nested else "".join(self.parts).strip()
        self.depth -= 1

    def text(self, data: str) -> None:
        if self.depth == 2:
            self.parts.append(data)


def _refuse_dtd(*_args: Any) -> None:
    raise XmlRefused("document type declarations are refused")


def _refuse_entity(*_args: Any) -> None:  # unreachable without a DTD; kept as a second lock
    raise XmlRefused("entity declarations are refused")
