"""What a handler decides: the reply to send now, and the work to enqueue once the transaction has committed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

JobKind = Literal["download_media", "triage_case", "close_draft", "deliver_message"]


@dataclass(frozen=True)
class JobRequest:
    """A job keyed by a database id, so running it twice is harmless. `at` schedules it for later."""

    kind: JobKind
    target_id: int
    at: datetime | None = None
    round: int = 0  # a later, deliberate re-run of the same work (e.g. triage again after the reporter answered)
    front: bool = False  # jump the queue (messages about a possible major hazard)
    # The first attempt was already made (and failed) where the work was created: the job keeps its plain id, so
    # the sweeper sees it as queued, runs at `at` and continues the backoff from its second step.
    retry: bool = False

    @property
    def job_id(self) -> str:
        suffix = f"-at{int(self.at.timestamp())}" if self.at is not None and not self.retry else ""
        again = f"-r{self.round}" if self.round else ""
        return f"{self.kind}-{self.target_id}{suffix}{again}"


def target_of(job_id: str, kind: JobKind) -> int | None:
    """The database id a job of `kind` works on, read back from its `JobRequest.job_id`; None for another kind."""
    job_kind, _, rest = job_id.partition("-")
    return int(rest.split("-", 1)[0]) if job_kind == kind else None


@dataclass
class Outcome:
    reply: str | None = None
    jobs: list[JobRequest] = field(default_factory=list)

    def then(self, *jobs: JobRequest) -> Outcome:
        self.jobs.extend(jobs)
        return self
