"""The enterprise registry (CSV ``name,aliases,industry,section``) and finding which enterprise a tip is about.

Each enterprise is known under several keys: its full name, its aliases, its name without the county prefix and the
company-form suffix (有限公司, 厂…), and its brand (the name without business words such as 机械制造). Keys are found in
the tip with one scan; keys of four or more characters also match with one wrong character (洪达机械 → 宏达机械).
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass
from pathlib import Path

from bot.triage.normalize import SEP, normalize
from bot.triage.patterns import Scanner

REQUIRED_COLUMNS = ("name", "aliases", "industry", "section")

# Place names stripped from the front of a name (longest first).
PLACE_PREFIXES = (
    "安徽省",
    "安徽",
    "黄山市",
    "黄山",
    "歙县",
    "徽州区",
    "屯溪区",
    "休宁县",
    "绩溪县",
    "黟县",
    "祁门县",
)
# Company-form suffixes stripped from the end, repeatedly.
FORM_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "分公司",
    "集团",
    "股份",
    "公司",
    "总厂",
    "工厂",
    "厂",
)
# Business words stripped from the end of a core name to leave the brand (宏达机械制造 → 宏达).
BUSINESS_WORDS = (
    "制造",
    "制品",
    "科技",
    "技术",
    "新能源",
    "机械",
    "铸造",
    "新型建材",
    "建材",
    "材料",
    "食品",
    "冷冻",
    "冷链",
    "物流",
    "铝业",
    "纸业",
    "木业",
    "酒业",
    "茶业",
    "药业",
    "化工",
    "纺织",
    "特钢",
    "钢铁",
    "水泥",
    "石材",
    "五金",
    "汽车配件",
    "配件",
    "喷涂",
    "包装",
    "印刷",
    "电子",
    "家具",
    "工艺品",
    "竹木",
    "徽墨",
    "复烤",
    "购物广场",
    "超市",
    "批发市场",
    "农产品",
    "粮油储备",
    "粮油",
    "储备",
    "加油站",
    "大酒店",
    "酒店",
    "创业孵化器",
    "孵化器",
    "检测",
    "物业管理",
    "物业",
    "管理",
    "建筑工程",
    "建筑",
    "工程",
    "民爆器材",
    "民爆",
    "水电站",
    "器材",
    "服务",
    "贸易",
    "商贸",
    "实业",
    "发展",
    "新材料",
    "能源",
)
_BUSINESS_SET = frozenset(BUSINESS_WORDS)
# Brands too common to stand alone as a key.
STOP_BRANDS = frozenset(
    {"城东", "城西", "城南", "城北", "新安", "徽州", "歙县", "黄山", "徽商", "中国", "安徽", "新华"}
)

SCORE_FULL = 1.0
SCORE_ALIAS = 0.95
SCORE_CORE = 0.9
SCORE_BRAND_FORM = 0.85
SCORE_BRAND = 0.75
FUZZY_FACTOR = 0.8
FUZZY_MIN_LEN = 4
HINT_MIN_RATIO = 0.6


@dataclass(frozen=True, slots=True)
class Enterprise:
    name: str
    aliases: tuple[str, ...]
    industry: str
    section: str
    line: int = 0


@dataclass(frozen=True, slots=True)
class EnterpriseMatch:
    enterprise: Enterprise
    score: float
    matched: str  # the text that matched (normalised)
    how: str  # 全称 / 别名 / 简称 / 字号 / 近似


def _strip_prefix(name: str) -> str:
    for prefix in PLACE_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix) + 1:
            return name[len(prefix) :]
    return name


def _strip_once(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _strip_suffixes(name: str, suffixes: tuple[str, ...]) -> str:
    changed = True
    while changed:
        changed = False
        for suffix in suffixes:
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                name = name[: -len(suffix)]
                changed = True
                break
    return name


def name_keys(name: str, aliases: tuple[str, ...]) -> dict[str, tuple[float, str]]:
    """Every key an enterprise is known under, with its score and a label."""
    keys: dict[str, tuple[float, str]] = {}

    def add(key: str, score: float, how: str, derived: bool = True) -> None:
        key = normalize(key)
        if derived and (key in _BUSINESS_SET or key in STOP_BRANDS):
            return  # 石材, 机械, 城东…: a business or place word alone names no enterprise
        if len(key) >= 2 and SEP not in key and (key not in keys or keys[key][0] < score):
            keys[key] = (score, how)

    add(name, SCORE_FULL, "全称", derived=False)
    for alias in aliases:
        add(alias, SCORE_ALIAS, "别名", derived=False)
    for source in (name, *aliases):
        norm = normalize(source)
        core = _strip_suffixes(_strip_prefix(norm), FORM_SUFFIXES)
        add(core, SCORE_CORE, "简称")
        stages = [core]  # 宏达机械制造 → 宏达机械 → 宏达: every stage is a way people say the name
        while (shorter := _strip_once(stages[-1], BUSINESS_WORDS)) != stages[-1]:
            stages.append(shorter)
        for stage in stages[1:-1]:
            add(stage, SCORE_CORE - 0.02, "简称")
        brand = stages[-1]
        if brand != core or core != norm:
            for form in ("厂", "公司"):
                add(brand + form, SCORE_BRAND_FORM, "字号")
        add(brand, SCORE_BRAND, "字号")
    return keys


class EnterpriseRegistry:
    def __init__(self, enterprises: list[Enterprise]) -> None:
        self.enterprises = tuple(enterprises)
        self.by_name = {e.name: e for e in enterprises}
        owners: dict[str, list[tuple[Enterprise, float, str]]] = {}
        for enterprise in enterprises:
            for key, (score, how) in name_keys(enterprise.name, enterprise.aliases).items():
                owners.setdefault(key, []).append((enterprise, score, how))
        # A key shared by several enterprises only counts for the one that holds it with the best score, if unique.
        self._keys: dict[str, tuple[Enterprise, float, str]] = {}
        for key, holders in owners.items():
            holders.sort(key=lambda h: -h[1])
            if len(holders) == 1 or holders[0][1] > holders[1][1]:
                self._keys[key] = holders[0]
        self._scanner = Scanner(self._keys)
        # One wrong character leaves one half of the key intact: the halves are scanned for exactly (one pass), and
        # only where one is found is the window around it compared with the key.
        self._halves: dict[str, list[tuple[int, int, str]]] = {}  # half -> (its offset in the key, key's rank, key)
        for rank, key in enumerate(self._keys):
            if len(key) >= FUZZY_MIN_LEN:
                middle = len(key) // 2
                self._halves.setdefault(key[:middle], []).append((0, rank, key))
                self._halves.setdefault(key[middle:], []).append((middle, rank, key))
        self._half_scanner = Scanner(self._halves)
        self._cores = {e.name: _strip_suffixes(_strip_prefix(normalize(e.name)), FORM_SUFFIXES) for e in enterprises}

    def __len__(self) -> int:
        return len(self.enterprises)

    def find_in_text(self, text: str) -> tuple[EnterpriseMatch | None, tuple[int, int] | None]:
        """Best enterprise named in normalised ``text`` and the span it occupies."""
        best: tuple[float, int, EnterpriseMatch, tuple[int, int]] | None = None
        hits = self._scanner.scan(text)
        for key, positions in hits.positions.items():
            enterprise, score, how = self._keys[key]
            for pos in positions:
                candidate = (score, len(key), EnterpriseMatch(enterprise, score, key, how), (pos, pos + len(key)))
                if best is None or candidate[:2] > best[:2]:
                    best = candidate
        if best is None or best[0] < SCORE_BRAND_FORM:
            fuzzy = self._find_fuzzy(text)
            if fuzzy is not None and (best is None or fuzzy[0] > best[0]):
                best = fuzzy
        if best is None:
            return None, None
        return best[2], best[3]

    def _find_fuzzy(self, text: str) -> tuple[float, int, EnterpriseMatch, tuple[int, int]] | None:
        """The best window of ``text`` that differs from a key of four or more characters in at most one character.
        Ties go to the longer key, then the window further left, then the earlier wrong character, then the key
        registered first."""
        best: tuple[tuple[float, int, int, int, int], str, tuple[int, int]] | None = None
        n = len(text)
        for half, positions in self._half_scanner.scan(text).positions.items():
            for offset, rank, key in self._halves[half]:
                length = len(key)
                for pos in positions:
                    start = pos - offset
                    if start < 0 or start + length > n:
                        continue
                    window = text[start : start + length]
                    if SEP in window:
                        continue
                    wrong = [i for i in range(length) if window[i] != key[i]]
                    if len(wrong) > 1:
                        continue
                    order = (-self._keys[key][1], -length, start, wrong[0] if wrong else 0, rank)
                    if best is None or order < best[0]:
                        best = (order, key, (start, start + length))
        if best is None:
            return None
        _order, key, span = best
        enterprise, score, _how = self._keys[key]
        fscore = score * FUZZY_FACTOR
        return fscore, span[1] - span[0], EnterpriseMatch(enterprise, fscore, text[span[0] : span[1]], "近似"), span

    def resolve_hint(self, hint: str) -> EnterpriseMatch | None:
        """The enterprise an explicit hint (typed by the reporter or an inspector) names, if any."""
        norm = normalize(hint)
        if not norm:
            return None
        exact = self._keys.get(norm)
        if exact is not None:
            return EnterpriseMatch(exact[0], 1.0, norm, "指明")
        found, _span = self.find_in_text(norm)
        if found is not None:
            return EnterpriseMatch(found.enterprise, found.score, found.matched, "指明")
        # A hint that is a fragment of a registered name (森茂板材 ⊂ 森茂板材厂), or a near spelling of its core.
        stripped = _strip_suffixes(_strip_prefix(norm), FORM_SUFFIXES)
        best: tuple[float, Enterprise] | None = None
        for key, (enterprise, _score, _how) in self._keys.items():
            if len(stripped) >= 2 and stripped in key:
                ratio = 0.7 + 0.3 * len(stripped) / len(key)
                if best is None or ratio > best[0]:
                    best = (ratio, enterprise)
        if best is None:
            for name, core in self._cores.items():
                ratio = difflib.SequenceMatcher(None, stripped, core).ratio()
                if ratio >= HINT_MIN_RATIO and (best is None or ratio > best[0]):
                    best = (ratio, self.by_name[name])
        if best is None:
            return None
        return EnterpriseMatch(best[1], best[0], norm, "指明")


def parse_registry(text: str, source: str, problems: list[str]) -> EnterpriseRegistry | None:
    """Parse registry CSV text; every malformed row is reported as ``source:line: problem``."""
    before = len(problems)
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    if not rows:
        problems.append(f"{source}: empty registry (expected the header {','.join(REQUIRED_COLUMNS)})")
        return None
    header = [h.strip().lstrip("\ufeff") for h in rows[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        problems.append(f"{source}:1: header lacks {', '.join(missing)} (expected {','.join(REQUIRED_COLUMNS)})")
        return None
    index = {c: header.index(c) for c in REQUIRED_COLUMNS}
    enterprises: list[Enterprise] = []
    seen: dict[str, int] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(f"{source}:{line_no}: expected {len(header)} columns, found {len(row)}")
            continue
        name = row[index["name"]].strip()
        if not name:
            problems.append(f"{source}:{line_no}: empty name")
            continue
        if name in seen:
            problems.append(f"{source}:{line_no}: duplicate name {name} (first on line {seen[name]})")
            continue
        seen[name] = line_no
        aliases = tuple(a.strip() for a in row[index["aliases"]].split("|") if a.strip())
        industry = row[index["industry"]].strip()
        if not industry:
            problems.append(f"{source}:{line_no}: empty industry for {name}")
        enterprises.append(Enterprise(name, aliases, industry, row[index["section"]].strip(), line_no))
    if len(problems) > before:
        return None
    return EnterpriseRegistry(enterprises)


def load_registry(path: Path, problems: list[str]) -> EnterpriseRegistry | None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read: {exc}")
        return None
    return parse_registry(text, str(path), problems)
