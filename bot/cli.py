"""The `whistle` command. Each subcommand builds what it needs from the configuration and nothing more."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.config import ConfigError, Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _show_rows(rows: list[dict[str, Any]], as_json: bool, line: Callable[[dict[str, Any]], str], empty: str) -> None:
    """A listing: JSON for machines, one line a row for people."""
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo(empty)
    for row in rows:
        click.echo(line(row))


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def main(verbose: bool) -> None:
    """吹哨 (Whistle): hazard tips from a WeChat Official Account to the bureau's inspectors."""
    from bot.logs import setup_logging

    setup_logging(logging.DEBUG if verbose else logging.INFO)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--sandbox", is_flag=True, help="Also start the fake WeChat API and point the service at it.")
@click.option("--sandbox-port", default=8088, show_default=True)
def run(host: str, port: int, sandbox: bool, sandbox_port: int) -> None:
    """Everything in one process group: web, worker with scheduler and sweeper (embedded Redis if none set)."""
    from bot.runner import run_all

    sys.exit(run_all(_settings(), host=host, port=port, sandbox=sandbox, sandbox_port=sandbox_port))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=0, help="gunicorn worker processes [default: 1 on SQLite, else 2].")
@click.option("--threads", default=4, show_default=True, help="Threads per worker process.")
def web(host: str, port: int, workers: int, threads: int) -> None:
    """The webhook under gunicorn (production WSGI server)."""
    from bot.wsgi_server import default_workers, serve

    settings = _settings()
    workers = workers or default_workers(settings.database_url)
    serve(settings, host=host, port=port, workers=workers, threads=threads)


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--sweep-interval",
    default=30.0,
    show_default=True,
    help="Seconds between sweeps (0 = none; due drafts are still closed every second).",
)
def worker(burst: bool, sweep_interval: float) -> None:
    """The RQ worker with its scheduler, and the sweeper that re-enqueues what Redis missed."""
    from bot.worker import work

    work(_settings(), burst=burst, sweep_interval=sweep_interval)


@main.command()
@click.argument("text", required=False)
@click.option("--url", default="http://127.0.0.1:8000/wechat", show_default=True, help="The running webhook.")
@click.option("--from", "sender", default="oSimulatedWorker0001", show_default=True, help="The sender's openid.")
@click.option("--photo", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Send a photo file.")
@click.option("--location", help="LAT,LON[,LABEL]")
@click.option("--event", "event_name", help="Send an event instead, e.g. subscribe, CLICK.")
@click.option("--key", default="", help="EventKey for --event (menu key, QR scene).")
@click.option("--encrypt", is_flag=True, help="Safe mode: encrypt the message with the EncodingAESKey.")
@click.option(
    "--sandbox-api", default="http://127.0.0.1:8088", show_default=True, help="The fake WeChat API (for --photo)."
)
def simulate(
    text: str | None,
    url: str,
    sender: str,
    photo: Path | None,
    location: str | None,
    event_name: str | None,
    key: str,
    encrypt: bool,
    sandbox_api: str,
) -> None:
    """Send a signed message as WeChat would to a running server and print the reply."""
    import requests

    settings = _settings()
    try:
        _simulate(settings, text, url, sender, photo, location, event_name, key, encrypt, sandbox_api)
    except requests.RequestException as exc:
        click.echo(f"could not reach the server: {exc}", err=True)
        sys.exit(1)


def _simulate(
    settings: Settings,
    text: str | None,
    url: str,
    sender: str,
    photo: Path | None,
    location: str | None,
    event_name: str | None,
    key: str,
    encrypt: bool,
    sandbox_api: str,
) -> None:
    from bot.simulate import Simulation, send, upload_photo
    from bot.wechat import messages

    if photo is not None:
        xml = messages.image(sender, upload_photo(sandbox_api, photo))
    elif location:
        parts = location.split(",", 2)
        xml = messages.location(sender, float(parts[0]), float(parts[1]), label=parts[2] if len(parts) > 2 else "")
    elif event_name:
        xml = messages.event(sender, event_name, key)
    elif text:
        xml = messages.text(sender, text)
    else:
        raise click.UsageError("give TEXT, --photo, --location or --event")
    status, reply = send(settings, Simulation(url=url, sender=sender, encrypt=encrypt), xml)
    click.echo(reply)
    if status != 200:
        click.echo(f"HTTP {status}", err=True)
        sys.exit(1)


@main.group()
def reports() -> None:
    """Look at cases (never at who reported them)."""


@reports.command("list")
@click.option("--status", help="Only cases in this state.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def reports_list(status: str | None, limit: int, as_json: bool) -> None:
    from bot.reports import list_reports
    from handlers.texts import status_name

    with _session() as session:
        rows = list_reports(session, status, limit)

    def line(r: dict[str, Any]) -> str:
        flag = " [可能重大]" if r["major"] else ""
        return f"{r['reference']}  {status_name(r['status'])}  {r['section'] or '-'}{flag}  {r['text']}"

    _show_rows(rows, as_json, line, empty="no cases")


@reports.command("show")
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True)
def reports_show(reference: str, as_json: bool) -> None:
    from bot.reports import format_detail, show_report

    with _session() as session:
        detail = show_report(session, reference)
    if detail is None:
        click.echo(f"no case {reference}", err=True)
        sys.exit(1)
    if as_json:
        _echo_json(detail)
    else:
        click.echo(format_detail(detail))


@main.group()
def inspectors() -> None:
    """Staff: inspectors, section heads and bureau leaders."""


@inspectors.command("invite")
@click.option("--section", "section_id", required=True, help="The section's id from [[sections]].")
@click.option("--role", type=click.Choice(["inspector", "head", "leader"]), default="inspector", show_default=True)
@click.option("--days", default=7, show_default=True, help="Days the code stays valid.")
def inspectors_invite(section_id: str, role: str, days: int) -> None:
    """Print a one-time code; the new inspector sends `绑定 <code>` to the account."""
    from bot.services import build_services
    from bot.staffing import invite

    services = build_services(_settings(), role="cli")
    try:
        code = invite(services, section_id, role=role, days=days)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(code)
    click.echo(f"send to the account within {days} days:  绑定 {code}", err=True)


@inspectors.command("list")
@click.option("--json", "as_json", is_flag=True)
def inspectors_list(as_json: bool) -> None:
    """Active staff by section (ids only: openids are sealed)."""
    from storage.inspectors import all_staff

    with _session() as session:
        rows = [
            {
                "id": p.id,
                "section": p.section_id,
                "role": p.role,
                "source": p.source,
                "last_wrote": p.last_inbound_at.isoformat() if p.last_inbound_at else None,
            }
            for p in all_staff(session)
        ]
    _show_rows(
        rows,
        as_json,
        lambda r: f"#{r['id']} {r['section'] or '-'} {r['role']} ({r['source']}) wrote {r['last_wrote'] or 'never'}",
        empty="no staff: list openids under [[sections]] or run `whistle inspectors invite`",
    )


@main.command()
@click.option("--json", "as_json", is_flag=True)
def stats(as_json: bool) -> None:
    """Campaign figures: open, overdue, possibly major, closed, by section and category."""
    from datetime import UTC, datetime

    from storage.stats import campaign_stats

    with _session() as session:
        figures = campaign_stats(session, datetime.now(UTC))
    data = {**figures.__dict__, "closed_rate": round(figures.closed_rate, 3)}
    if as_json:
        _echo_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key}: {value}")


@main.command("check-config")
def check_config() -> None:
    """Validate the configuration and the rule files; print every problem, key by key."""
    from bot.checks import check_everything

    try:
        settings = load_settings()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    report = check_everything(settings)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.problems:
        click.echo("configuration problems:", err=True)
        for problem in report.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    click.echo(f"configuration OK ({settings.source})")


@main.command()
@click.argument("text")
@click.option("--enterprise", help="The enterprise, when known.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default for '-').")
def triage(text: str, enterprise: str | None, as_json: bool) -> None:
    """Dry-run triage of TEXT with the configured rules; '-' reads JSON lines {"text", "enterprise"} from stdin."""
    from bot.triage_cli import triage_lines, triage_one

    settings = _settings()
    if text == "-":
        for line in triage_lines(settings, sys.stdin):
            click.echo(line)
        return
    click.echo(triage_one(settings, text, enterprise, as_json=as_json))


@main.command()
@click.option("--json", "as_json", is_flag=True)
def outbox(as_json: bool) -> None:
    """Messages to users that are not delivered yet, and why."""
    from storage.outbox import pending_summary

    with _session() as session:
        rows = [
            {
                "id": m.id,
                "case_id": m.case_id,
                "status": m.status,
                "attempts": m.attempts,
                "not_before": m.not_before.isoformat(),
                "reason": m.last_error,
            }
            for m in pending_summary(session)
        ]
    _show_rows(
        rows,
        as_json,
        lambda r: f"#{r['id']} case {r['case_id']} {r['status']} attempts={r['attempts']} {r['reason'] or ''}",
        empty="outbox empty: everything delivered",
    )


@main.command()
def sweep() -> None:
    """Re-enqueue, once, every piece of work the database says is still pending."""
    from bot.services import build_services
    from bot.sweeper import sweep as sweep_once

    services = build_services(_settings(), role="worker")
    _echo_json(sweep_once(services))


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from storage.db import make_engine
    from storage.db import migrate as upgrade

    upgrade(make_engine(_settings().database_url))
    click.echo("database is up to date")


@main.command("fake-wechat", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def fake_wechat(ctx: click.Context) -> None:
    """Run the fake WeChat API alone (loopback only); see --help of the fake for options."""
    from bot.wechat.fake_api import main as fake_main

    sys.exit(fake_main(list(ctx.args)))


def _session() -> Any:
    from storage.db import make_engine, make_sessionmaker
    from storage.db import migrate as upgrade

    engine = make_engine(_settings().database_url)
    upgrade(engine)
    return make_sessionmaker(engine)()


if __name__ == "__main__":
    main()
