"""CPU time of processes, from Linux's /proc: what the benches use to say where a run's CPU went."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit


def is_local_postgres(database_url: str) -> bool:
    """A PostgreSQL server on this machine: it spends this machine's CPU on the service's behalf."""
    local = ("127.0.0.1", "localhost", "::1")
    return database_url.startswith("postgresql") and urlsplit(database_url).hostname in local


def cpu_seconds(pid: int) -> float:
    """user + system CPU of a process and its live descendants (gunicorn's workers), from /proc."""
    total, todo, seen = 0.0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            total += _stat_seconds(Path(f"/proc/{p}"))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


def named_cpu_seconds(name: str) -> float:
    """user + system CPU of every process of this machine named `name` (a local database server: "postgres")."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == name:
                total += _stat_seconds(entry)
        except (OSError, ValueError, IndexError):
            continue
    return total


def _stat_seconds(process: Path) -> float:
    """user + system CPU of one process, given its /proc directory (after the command name, which may hold spaces)."""
    fields = (process / "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return float(sum(parts) - idle), float(sum(parts))
