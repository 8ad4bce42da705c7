"""Loading and validating everything triage needs: sections, registry, lexicon, major criteria, transfers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.triage.enterprises import EnterpriseRegistry, load_registry
from bot.triage.errors import RulesError
from bot.triage.lexicon import Lexicon, load_lexicon
from bot.triage.major import MajorCriteria, load_major_criteria
from bot.triage.routing import Section, parse_sections
from bot.triage.similar import Examples, load_examples
from bot.triage.transfers import TransferRules, load_transfers

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
BUNDLED_LEXICON = RULES_DIR / "lexicon.toml"
BUNDLED_MAJOR_CRITERIA = RULES_DIR / "major_criteria.toml"
BUNDLED_TRANSFERS = RULES_DIR / "transfers.toml"
BUNDLED_ENTERPRISES = RULES_DIR / "enterprises.csv"
BUNDLED_EXAMPLES = RULES_DIR / "examples.toml"


@dataclass(frozen=True)
class RoutingRules:
    sections: tuple[Section, ...]
    default_section: str
    registry: EnterpriseRegistry | None
    lexicon: Lexicon
    criteria: MajorCriteria
    transfers: TransferRules
    # Judged tips that back up the lexicon and the criteria by similarity (None = no example fallback).
    examples: Examples | None = None


def _path(value: Path | str | None, bundled: Path) -> Path:
    if value is None or (isinstance(value, str) and not value.strip()):
        return bundled
    return Path(value)


def _load(
    sections: Sequence[Mapping[str, Any]],
    default_section: str,
    enterprises_csv: Path | str | None,
    lexicon_path: Path | str | None,
    major_criteria_path: Path | str | None,
    transfers_path: Path | str | None,
    examples_path: Path | str | None = None,
) -> tuple[RoutingRules | None, list[str]]:
    problems: list[str] = []
    if not isinstance(sections, Sequence) or isinstance(sections, str | bytes):
        problems.append("sections: expected a list of tables")
        sections = []
    parsed = parse_sections(sections, problems)
    section_ids = {s.id for s in parsed}
    if not parsed:
        problems.append("sections: no [[sections]] configured")
    if default_section not in section_ids:
        problems.append(f"routing.default_section: {default_section!r} is not a configured [[sections]] id")

    registry: EnterpriseRegistry | None = None
    if enterprises_csv is not None and not (isinstance(enterprises_csv, str) and not enterprises_csv.strip()):
        csv_path = Path(enterprises_csv)
        registry = load_registry(csv_path, problems)
        if registry is not None:
            for enterprise in registry.enterprises:
                if enterprise.section and enterprise.section not in section_ids:
                    problems.append(
                        f"{csv_path}:{enterprise.line}: section {enterprise.section!r} of {enterprise.name} "
                        "is not a configured [[sections]] id"
                    )

    lexicon = load_lexicon(_path(lexicon_path, BUNDLED_LEXICON), problems)
    criteria = load_major_criteria(_path(major_criteria_path, BUNDLED_MAJOR_CRITERIA), problems)
    transfers_file = _path(transfers_path, BUNDLED_TRANSFERS)
    transfers = load_transfers(transfers_file, problems, section_ids)
    if lexicon is not None:
        for section in parsed:
            for cid in section.categories:
                if cid not in lexicon.categories:
                    problems.append(f"sections (id={section.id!r}).categories: {cid!r} has no entry in the lexicon")
    examples: Examples | None = None
    # The bundled examples name the bundled criteria's clauses: with another criteria file they need their own file.
    own_criteria = _path(major_criteria_path, BUNDLED_MAJOR_CRITERIA) == BUNDLED_MAJOR_CRITERIA
    wanted = examples_path is not None and not (isinstance(examples_path, str) and not examples_path.strip())
    if wanted and isinstance(examples_path, str) and examples_path.strip() == "-":
        wanted = own_criteria = False
    if criteria is not None and (wanted or own_criteria):
        examples = load_examples(_path(examples_path, BUNDLED_EXAMPLES), problems, (c.id for c in criteria.criteria))
    if problems or lexicon is None or criteria is None or transfers is None:
        return None, problems
    return RoutingRules(tuple(parsed), default_section, registry, lexicon, criteria, transfers, examples), problems


def load_routing_rules(
    sections: Sequence[Mapping[str, Any]],
    default_section: str,
    enterprises_csv: Path | str | None = None,
    lexicon_path: Path | str | None = None,
    major_criteria_path: Path | str | None = None,
    transfers_path: Path | str | None = None,
    examples_path: Path | str | None = None,
) -> RoutingRules:
    """Load and check every rule source; raise :class:`RulesError` listing all problems (file/line/key) if any.

    ``None`` (or "") for the lexicon, criteria or transfers means the bundled file under ``bot/rules``;
    ``enterprises_csv=None`` means no registry (every tip then needs the reporter to name the enterprise).
    ``examples_path`` likewise defaults to the bundled examples (bot/rules/examples.toml), but only with the bundled
    criteria (their clause ids are the bundled file's); "-" turns the example-based fallback off.
    """
    rules, problems = _load(
        sections, default_section, enterprises_csv, lexicon_path, major_criteria_path, transfers_path, examples_path
    )
    if rules is None:
        raise RulesError(problems or ["invalid triage rules"])
    return rules


def validate_rules(
    sections: Sequence[Mapping[str, Any]],
    default_section: str,
    enterprises_csv: Path | str | None = None,
    lexicon_path: Path | str | None = None,
    major_criteria_path: Path | str | None = None,
    transfers_path: Path | str | None = None,
    examples_path: Path | str | None = None,
) -> list[str]:
    """Every problem found in the rule sources (empty when all is well), for ``whistle check-config``."""
    _rules, problems = _load(
        sections, default_section, enterprises_csv, lexicon_path, major_criteria_path, transfers_path, examples_path
    )
    return problems
