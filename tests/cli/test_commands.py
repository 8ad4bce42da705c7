"""The `whistle` command as an operator uses it: real processes, real configuration, real output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.wechat import messages as msg

ROOT = Path(__file__).resolve().parents[2]


def whistle(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_config_accepts_the_repository_config(tmp_path):
    done = whistle("check-config", env={"WHISTLE_STORAGE__DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "configuration OK" in done.stdout


def test_check_config_names_the_bad_key():
    done = whistle("check-config", env={"WHISTLE_WECHAT__ENCODING_AES_KEY": "tooshort"})
    assert done.returncode == 1
    assert "wechat.encoding_aes_key" in done.stderr


def test_check_config_reports_a_broken_registry(tmp_path):
    registry = tmp_path / "enterprises.csv"
    registry.write_text("name,aliases,industry,section\n宏达,,机械,no_such_section\n")
    done = whistle("check-config", env={"WHISTLE_ROUTING__ENTERPRISES": str(registry)})
    assert done.returncode == 1
    assert "no_such_section" in done.stderr


def test_triage_dry_run_prints_the_documented_json():
    done = whistle("triage", "宏达机械除尘器泄爆片拆了", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"categories", "major", "major_reasons", "enterprise", "section", "transfers", "reasons"}
    assert result["categories"][0]["id"] == "dust" and result["major"] is True and result["section"] == "industry"


def test_triage_reads_a_backlog_of_json_lines():
    lines = "\n".join(
        [
            json.dumps({"text": "叉车司机没有证", "enterprise": None}, ensure_ascii=False),
            "this is not json",
            json.dumps({"text": "灭火器过期了"}, ensure_ascii=False),
        ]
    )
    done = whistle("triage", "-", stdin=lines)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == 3 and "error" in out[1]
    assert out[2]["categories"][0]["id"] == "fire_equipment"


def test_reports_list_and_show_read_the_cases(harness, tmp_path):
    harness.say(msg.text("oCliWorker", "仓库通道堆满货物，安全出口锁了"))
    reply = harness.say(msg.text("oCliWorker", "提交"))
    harness.run_jobs()
    reference = reply.split("案件编号：")[1].split()[0]
    env = {"WHISTLE_DATABASE__URL": harness.settings.database_url}
    listed = json.loads(whistle("reports", "list", "--json", env=env).stdout)
    assert [r["reference"] for r in listed] == [reference]
    shown = whistle("reports", "show", reference, "--json", env=env)
    detail = json.loads(shown.stdout)
    assert detail["reference"] == reference and detail["triage_status"] == "done"
    assert "oCliWorker" not in shown.stdout
    assert whistle("reports", "show", "AQ-19990101-0001", env=env).returncode == 1


def test_outbox_shows_what_waits(harness):
    env = {"WHISTLE_DATABASE__URL": harness.settings.database_url}
    done = whistle("outbox", "--json", env=env)
    assert done.returncode == 0 and json.loads(done.stdout) == []


@pytest.mark.slow
def test_simulate_against_a_running_sandbox(tmp_path):
    """The README's first command, end to end: `whistle run --sandbox`, then simulate a worker's report."""
    import socket
    import time

    from tests.support.servers import free_port

    port, fake_port = free_port(), free_port()
    env = {
        **os.environ,
        "WHISTLE_STORAGE__DIR": str(tmp_path),
        "WHISTLE_MEDIA__DIR": str(tmp_path / "media"),
        "WHISTLE_DATABASE__URL": f"sqlite:///{tmp_path / 'w.db'}",
        "WHISTLE_REDIS__URL": "",
        "WHISTLE_REPORT__DRAFT_WINDOW_SECONDS": "2",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--sandbox", "--port", str(port), "--sandbox-port", str(fake_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 40
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}/wechat"
        photo = tmp_path / "hazard.jpg"
        from tests.support.images import jpeg_bytes

        photo.write_bytes(jpeg_bytes((320, 240)))
        run = lambda *a: subprocess.run(  # noqa: E731
            [
                sys.executable,
                "-m",
                "bot.cli",
                "simulate",
                "--url",
                url,
                "--sandbox-api",
                f"http://127.0.0.1:{fake_port}",
                *a,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert "欢迎" in run("--event", "subscribe").stdout
        assert "已收到照片" in run("--photo", str(photo)).stdout
        assert "本次已有2条" in run("油漆桶放在配电箱旁边", "--encrypt").stdout
        # no 提交: the window (2 s) passes and the worker's scheduler submits it and pushes the reference
        deadline = time.time() + 40
        detail = None
        while time.time() < deadline:
            listed = json.loads(whistle("reports", "list", "--json", env=env).stdout or "[]")
            if listed:
                detail = json.loads(whistle("reports", "show", listed[0]["reference"], "--json", env=env).stdout)
                if detail["triage_status"] == "done" and detail["media"] and detail["media"][0]["status"] == "stored":
                    break
            time.sleep(0.5)
        assert detail is not None and detail["submitted_via"] == "timeout", detail
        assert detail["triage_status"] == "done" and detail["media"][0]["status"] == "stored"
        import requests

        pushed = requests.get(f"http://127.0.0.1:{fake_port}/__fake__/messages", timeout=5).json()["messages"]
        assert any(detail["reference"] in m["text"] for m in pushed)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise


def test_invite_prints_a_code_that_binds(harness):
    env = {
        "WHISTLE_DATABASE__URL": harness.settings.database_url,
        "WHISTLE_REDIS__URL": harness.settings.redis_url,
        "WHISTLE_SECURITY__IDENTITY_KEY": harness.settings.identity_key,
    }
    done = whistle("inspectors", "invite", "--section", "commerce", env=env)
    assert done.returncode == 0, done.stderr
    code = done.stdout.strip()
    assert "绑定成功" in harness.say(msg.text("oNewCommerceInspector", f"绑定 {code}"))
    listed = json.loads(whistle("inspectors", "list", "--json", env=env).stdout)
    assert [(r["section"], r["role"], r["source"]) for r in listed] == [("commerce", "inspector", "invitation")]
    assert whistle("inspectors", "invite", "--section", "nope", env=env).returncode != 0


def test_stats_counts_the_cases(harness):
    harness.say(msg.text("oStatsWorker", "叉车司机没有证"))
    harness.say(msg.text("oStatsWorker", "提交"))
    env = {"WHISTLE_DATABASE__URL": harness.settings.database_url}
    data = json.loads(whistle("stats", "--json", env=env).stdout)
    assert data["total"] == 1 and data["open"] == 1 and data["by_status"] == {"submitted": 1}
