"""The triage job decides outside any lock, then writes in a short transaction: what if the case changed in between?"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot import triage_jobs
from bot.wechat import messages as msg
from storage.db import transaction
from storage.models import Case
from tests.support.harness import Harness

WORKER = "oWorker-triage-job"


def submit(harness: Harness, text: str) -> None:
    harness.say(msg.text(WORKER, text))
    harness.say(msg.text(WORKER, "提交"))


def test_a_case_that_changed_while_the_plan_was_made_is_decided_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(harness, "车间里配电箱门坏了，电线都露在外面")  # names no enterprise
    planned: list[str | None] = []
    plan = triage_jobs._plan

    def plan_then_the_reporter_answers(services: Any, session: Any, case: Case) -> triage_jobs.Plan:
        made = plan(services, session, case)
        planned.append(made.result.enterprise)
        if len(planned) == 1:  # between the read and the write, the case learns its enterprise
            with transaction(harness.services.sessions) as other:
                changed = other.get(Case, case.id)
                assert changed is not None
                changed.enterprise_hint = "宏达机械"
        return made

    monkeypatch.setattr(triage_jobs, "_plan", plan_then_the_reporter_answers)
    harness.run_jobs()
    assert planned == [None, "歙县宏达机械制造有限公司"]  # planned without it, then decided again with it
    with harness.services.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.enterprise == "歙县宏达机械制造有限公司" and case.section_id == "industry"
        assert case.triage_status == "done" and case.question is None  # no need to ask "是哪家企业？"
