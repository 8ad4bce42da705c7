"""Errors raised while loading triage rules."""

from __future__ import annotations


class RulesError(ValueError):
    """The triage data (lexicon, criteria, transfers, registry or sections) is invalid.

    The message names the file, line or key at fault; ``problems`` lists every problem found.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) if self.problems else "invalid triage rules")
