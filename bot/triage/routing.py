"""Bureau sections and the order in which a tip finds its section.

1. the enterprise's section: the registry's ``section`` column, else the section whose ``industries`` holds the
   enterprise's industry;
2. else the first-ranked category that a section lists in ``categories``;
3. else the default section.
An escalation (deaths, concealed accidents) overrides all three.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.triage.categories import CATEGORY_IDS, CATEGORY_NAMES
from bot.triage.enterprises import Enterprise


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    name: str
    inspectors: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


def parse_sections(raw: Sequence[Mapping[str, Any]], problems: list[str]) -> list[Section]:
    """Sections in the shape of config.toml's ``[[sections]]`` tables."""
    sections: list[Section] = []
    seen: set[str] = set()
    for index, body in enumerate(raw):
        where = f"sections[{index}]"
        if not isinstance(body, Mapping):
            problems.append(f"{where}: must be a table")
            continue
        sid = body.get("id")
        if not isinstance(sid, str) or not sid.strip():
            problems.append(f"{where}.id: expected a non-empty string")
            continue
        where = f"sections[{index}] (id={sid!r})"
        if sid in seen:
            problems.append(f"{where}: duplicate section id")
            continue
        seen.add(sid)
        name = body.get("name", sid)
        if not isinstance(name, str) or not name:
            problems.append(f"{where}.name: expected a non-empty string")
            name = sid
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("inspectors", "industries", "categories"):
            value = body.get(key, [])
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                problems.append(f"{where}.{key}: expected a list of strings")
                value = []
            lists[key] = tuple(value)
        for cid in lists["categories"]:
            if cid not in CATEGORY_IDS:
                problems.append(f"{where}.categories: unknown category id {cid!r}")
        sections.append(Section(sid, name, lists["inspectors"], lists["industries"], lists["categories"]))
    industry_owner: dict[str, str] = {}
    category_owner: dict[str, str] = {}
    for section in sections:
        for industry in section.industries:
            if industry in industry_owner:
                problems.append(
                    f"sections: industry {industry!r} is listed by both {industry_owner[industry]!r} and {section.id!r}"
                )
            industry_owner.setdefault(industry, section.id)
        for cid in section.categories:
            if cid in category_owner:
                problems.append(
                    f"sections: category {cid!r} is listed by both {category_owner[cid]!r} and {section.id!r}"
                )
            category_owner.setdefault(cid, section.id)
    return sections


class Router:
    def __init__(self, sections: Sequence[Section], default_section: str) -> None:
        self.sections = {s.id: s for s in sections}
        self.default_section = default_section
        self._by_industry: dict[str, str] = {}
        self._by_category: dict[str, str] = {}
        for section in sections:
            for industry in section.industries:
                self._by_industry.setdefault(industry, section.id)
            for cid in section.categories:
                self._by_category.setdefault(cid, section.id)

    def name(self, section_id: str) -> str:
        section = self.sections.get(section_id)
        return section.name if section else section_id

    def section_for_industry(self, industry: str) -> str | None:
        return self._by_industry.get(industry)

    def route(
        self, enterprise: Enterprise | None, ranked_categories: Sequence[str], escalate_to: str | None = None
    ) -> tuple[str, list[str]]:
        """The section for a tip and the reasons, in order of the rules tried."""
        reasons: list[str] = []
        section: str | None = None
        if enterprise is not None:
            if enterprise.section and enterprise.section in self.sections:
                section = enterprise.section
                reasons.append(f"企业「{enterprise.name}」登记归属 {self.name(section)}")
            else:
                by_industry = self._by_industry.get(enterprise.industry)
                if by_industry is not None:
                    section = by_industry
                    reasons.append(
                        f"企业「{enterprise.name}」行业「{enterprise.industry}」属 {self.name(section)} 管辖"
                    )
                else:
                    reasons.append(f"企业「{enterprise.name}」行业「{enterprise.industry}」无对应股室，按隐患类别分派")
        if section is None:
            for cid in ranked_categories:
                owner = self._by_category.get(cid)
                if owner is not None:
                    section = owner
                    reasons.append(f"按隐患类别「{CATEGORY_NAMES.get(cid, cid)}」归 {self.name(section)}")
                    break
        if section is None:
            section = self.default_section
            reasons.append(f"未能按企业或类别确定股室，归默认股室 {self.name(section)}")
        if escalate_to is not None:
            target = escalate_to if escalate_to in self.sections else self.default_section
            if target != section:
                reasons.append(f"涉及人员死亡或瞒报事故，升级至 {self.name(target)}（原应归 {self.name(section)}）")
            else:
                reasons.append(f"涉及人员死亡或瞒报事故，由 {self.name(target)} 督办")
            section = target
        return section, reasons
