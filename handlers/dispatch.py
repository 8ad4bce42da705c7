"""Which handler answers a message: the first rule that matches wins.

event subscribe / SCAN           -> welcome
event unsubscribe                -> drop the open draft, remember the reporter left (no reply: they are gone)
event CLICK REPORT/SUBMIT/MY_CASES/HELP -> the same as typing it
event LOCATION                   -> joins an open draft silently
other events (VIEW, template or subscription receipts) -> recorded, no reply
text that is a command           -> submit / cancel / query / my cases / help
text or photo the service waits for -> answer to an inspector's question, "没有"/"已消除" after closing, evidence
short text after "是哪家企业？"    -> the answer: the case is triaged again with it
text, photo, voice, video, file, link, location -> joins the draft
anything else                    -> a helpful answer
"""

from __future__ import annotations

from handlers import followup, report, texts
from handlers.commands import Command, Parsed, parse_command
from handlers.inbound import Inbound
from handlers.outcome import Outcome
from storage.cases import awaits_reply
from storage.drafts import open_draft
from storage.inbound import Received
from storage.reporters import set_subscribed

DRAFT_KINDS = frozenset({"text", "image", "voice", "video", "shortvideo", "file", "link", "location"})
MENU_KEYS = {
    "REPORT": None,
    "SUBMIT": Command.SUBMIT,
    "MY_CASES": Command.MY_CASES,
    "HELP": Command.HELP,
}


def handle(conv: report.Conversation, inbound: Inbound, message: Received) -> Outcome:
    if inbound.kind == "event":
        return _event(conv, inbound, message)
    if inbound.kind == "text":
        parsed = parse_command(inbound.content or "")
        if parsed is not None:
            return _command(conv, parsed)
        if not (inbound.content or "").strip():
            return Outcome(texts.REPORT_HOWTO)
    if inbound.kind not in DRAFT_KINDS:
        return Outcome(texts.UNSUPPORTED)
    # While a draft is open the message joins it: answers to the service and to "是哪家企业？" are only taken when no
    # draft is open. Most messages join a draft within its window: one statement does that. Otherwise one look at
    # the open draft (if any: its window has passed), locked as it is about to change.
    # A reporter created by this very message has neither a draft nor a case: nothing to look up.
    new = conv.reporter.new
    if not new:
        joined = report.join_open_draft(conv, inbound, message)
        if joined is not None:
            return joined
    draft = None if new else open_draft(conv.session, conv.reporter.id, for_update=True)
    if (
        draft is None
        and not new
        and inbound.kind in ("text", "image")
        and awaits_reply(conv.session, conv.reporter.id, conv.now)
    ):
        followed = followup.reply_to_service(conv, inbound, message)
        if followed is not None:
            return followed
        if inbound.kind == "text":
            answered = report.answer_question(conv, inbound.content or "")
            if answered is not None:
                return answered
    return report.add_to_draft(conv, inbound, message, draft)


def _command(conv: report.Conversation, parsed: Parsed) -> Outcome:
    if parsed.command is Command.SUBMIT:
        return report.submit(conv)
    if parsed.command is Command.CANCEL:
        return report.cancel(conv)
    if parsed.command is Command.QUERY:
        return report.query(conv, parsed)
    if parsed.command is Command.MY_CASES:
        return report.my_cases(conv)
    if parsed.command is Command.OBJECT:
        return followup.object_to(conv, parsed, conv.rules.objection_days)
    hint = report.pending_hint(conv)
    return Outcome(texts.HELP + ("\n\n" + hint if hint else ""))


def _event(conv: report.Conversation, inbound: Inbound, message: Received) -> Outcome:
    event = inbound.event or ""
    if event == "subscribe":
        set_subscribed(conv.session, conv.reporter.id, True, conv.now)
        return Outcome(texts.WELCOME.format(minutes=conv.minutes))
    if event == "unsubscribe":
        set_subscribed(conv.session, conv.reporter.id, False, conv.now)
        report.drop_draft(conv.session, conv.reporter.id, conv.now)
        return Outcome()
    if event == "scan":
        return Outcome(texts.SCAN_HELLO)
    if event == "location":
        return report.note_auto_location(conv, message)
    if event == "click":
        return _menu(conv, (inbound.event_key or "").upper())
    return Outcome()


def _menu(conv: report.Conversation, key: str) -> Outcome:
    if key not in MENU_KEYS:
        return Outcome(texts.HELP)
    command = MENU_KEYS[key]
    if command is None:
        hint = report.pending_hint(conv)
        return Outcome(hint or texts.REPORT_HOWTO)
    return _command(conv, Parsed(command))
