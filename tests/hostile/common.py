"""Shared pieces of the hostile-input and confidentiality tests: people, sections, signed posts, reply checks."""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from defusedxml.ElementTree import fromstring
from sqlalchemy import select

from bot.wechat import messages as msg
from bot.wechat.protocol import sign
from storage.models import Case
from tests.support.harness import TOKEN
from tests.support.staff import staffed_sections

ALLOWED_STATUSES = frozenset({200, 400, 403, 413})
ON_POSTGRES = bool(os.environ.get("WHISTLE_TEST_DATABASE_URL"))

WORKER_A = "oHostile-Reporter-A-7f3c"
WORKER_B = "oHostile-Reporter-B-91d2"
WANG = "oHostile-Inspector-Wang"  # 工业股 inspector
LI = "oHostile-Head-Li"  # 工业股 head
ZHOU = "oHostile-Inspector-Zhou"  # 商务股 inspector
ZHAO = "oHostile-Leader-Zhao"  # bureau leader
STAFF = (WANG, LI, ZHOU, ZHAO)
REPORTERS = (WORKER_A, WORKER_B)

SECTIONS = staffed_sections(wang=WANG, li=LI, zhou=ZHOU)
OVERRIDES: dict[str, object] = {"sections": SECTIONS, "bureau.leaders": [ZHAO]}


def signed_query(timestamp: str | None = None, nonce: str = "424242", **extra: str) -> dict[str, str]:
    ts = timestamp if timestamp is not None else str(int(time.time()))
    return {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}


def post_raw(harness: Any, body: bytes, query: dict[str, str] | None = None) -> Any:
    return harness.client.post(
        "/wechat", query_string=query if query is not None else signed_query(), data=body, content_type="text/xml"
    )


def check_response(response: Any, allowed: frozenset[int] = ALLOWED_STATUSES) -> dict[str, str] | None:
    """The webhook's answer is one of the defined ones; a 200 is `success` or well-formed XML (returned as fields)."""
    assert response.status_code in allowed, (response.status_code, response.data[:300])
    if response.status_code != 200:
        return None
    body = response.data
    if body == b"success":
        return None
    root = fromstring(body, forbid_dtd=True)
    assert root.tag == "xml"
    fields = {child.tag: (child.text or "") for child in root}
    for child in root:
        assert len(child) == 0, f"nested element in a reply: {child.tag}"
    return fields


def reply_text(response: Any) -> str:
    """The Content of a plain-mode reply, after checking that the reply is one of the defined answers."""
    fields = check_response(response)
    if fields is None:
        return ""
    assert set(fields) == {"ToUserName", "FromUserName", "CreateTime", "MsgType", "Content"}, fields
    assert fields["MsgType"] == "text"
    return fields["Content"]


def say(harness: Any, who: str, text: str) -> str:
    response = harness.post(msg.text(who, text))
    assert response.status_code == 200, response.data
    return reply_text(response)


def report(harness: Any, who: str, text: str) -> str:
    say(harness, who, text)
    done = say(harness, who, "提交")
    found = re.search(r"案件编号：(\S+)", done)
    assert found, done
    return found.group(1)


def case_by_ref(harness: Any, reference: str) -> Case:
    with harness.services.sessions() as s:
        case = s.scalars(select(Case).where(Case.reference == reference)).one()
        s.expunge(case)
        return case


class ErrorCollector(logging.Handler):
    """Collects ERROR (and worse) records of the service's own loggers: a failure the webhook swallowed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in {"bot", "handlers", "storage"}:
            self.records.append(record)

    def __enter__(self) -> ErrorCollector:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)

    def describe(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()} {r.exc_info[1] if r.exc_info else ''}"[:400] for r in self.records]
