"""What a ledger's cells say: section and task numbering (一、 (一) 1. 1.1), unit cells (lists, 牵头/配合 sentences,
every county), status words, 文号 and a sheet's title rows, and the numeric targets and milestones of a row.
Pure reading of text: the import (tasks/ledger_import.py) decides what becomes of it."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from departments.former_names import strip_etc
from departments.models import UnitKind, normalize_unit_name

from .deadlines import ParsedDeadline
from .extraction.attribution import parse_attribution
from .extraction.targets import find_targets
from .extraction.text import to_simplified
from .models import Document, Progress, Target

# --------------------------------------------------------------------------------------------------- numbering

_LEVEL_PATTERNS = [
    (0, re.compile(r"^(附件\d*|附表\d*)\s*[、.．:：]?\s*")),
    (0, re.compile(r"^([一二三四五六七八九十百]+)\s*[、.．,，]\s*")),
    (1, re.compile(r"^[(（]([一二三四五六七八九十百]+)[)）]\s*[、.．]?\s*")),
    (2, re.compile(r"^(\d+)\s*[.．、,，]?\s*(?=\D|$)")),
    (3, re.compile(r"^[(（](\d+)[)）]\s*[、.．]?\s*")),
]
FULL_PATH = re.compile(r"^[一二三四五六七八九十百]+(\.[(（]?[一二三四五六七八九十百\d]+[)）]?)+$")
# 1.1, 2.3.4: offices' 台账 often number every task in full, Arabic and dotted (and 1.1 is not "1").
DOTTED_PATH = re.compile(r"^\d+(?:\.\d+)+\.?$")
_CN_NUMERALS = "一二三四五六七八九十"


def parse_numbering(text: str) -> tuple[int, str, str] | None:
    """'(一)聚焦…' -> (1, '(一)', '聚焦…'); '1.' -> (2, '1', ''). None if the text does not start with a number."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    for level, pattern in _LEVEL_PATTERNS:
        m = pattern.match(text)
        if m:
            token = m[1]
            segment = f"({token})" if level in (1, 3) else token
            return level, segment, text[m.end() :].strip()
    return None


def cn_number(n: int) -> str:
    if n <= 10:
        return _CN_NUMERALS[n - 1]
    if n < 20:
        return "十" + _CN_NUMERALS[n - 11]
    tens, ones = divmod(n, 10)
    return _CN_NUMERALS[tens - 1] + "十" + (_CN_NUMERALS[ones - 1] if ones else "")


def segment_like(segment: str, n: int) -> str:
    """The n-th number written the way ``segment`` is: 3 -> '3', '(三)', '三'."""
    if segment.isdigit():
        return str(n)
    if segment.startswith("("):
        return f"({n})" if segment[1:-1].isdigit() else f"({cn_number(n)})"
    return cn_number(n)


# --------------------------------------------------------------------------------------------------- units

# Every county government: 各县(市、区)政府(管委会), 各区、县级市政府, 各县市区, 各县(区), 各区县政府…
_ALL_COUNTIES_RE = re.compile(
    r"各\s*(?:县|区|市)(?:\([^()]{1,8}\)|县级市|[县市区])*(?:[、,](?:县级市|[县市区])+)+(?:人民)?政府(?:\([^()]{0,12}管委会\))?"
    r"|各\s*(?:县|区|市)(?:\([^()]{1,8}\)|县级市|[县市区])*(?:人民)?(?:政府)?(?:\([^()]{0,12}管委会\))?"
)
# Named as written but not one unit (street offices, towns, "the relevant departments"): kept, with a warning.
KEPT_RE = re.compile(r"各|^(?:街道|乡镇|镇|乡|社区|村)|有关|相关|成员单位$|专班$|^其他")
_COUNTY_NAME_RE = re.compile(r"^.{1,10}(?:县|区|市|旗)(?:人民)?政府$|管委会$|^.{1,6}(?:县|区|旗)$")


def split_unit_cell(text: str, *, known=None) -> list[tuple[str, str]]:
    """A unit cell as (kind, name) pieces: ('unit', name) or ('counties', the phrase as written).

    Offices separate names with spaces too (市卫健委 市财政局), but a unit's own name may contain one (the export
    writes names as they are, joined with 、): a piece between real separators whose whole text ``known(name)``
    recognises stays one name; otherwise it is split at its spaces."""
    text = to_simplified(unicodedata.normalize("NFKC", text or ""))
    text = text.replace("〔", "(").replace("〕", ")").replace("【", "(").replace("】", ")")
    pieces: list[tuple[str, str]] = []
    protected: dict[str, str] = {}

    def protect(m):
        token = f"\x00{len(protected)}\x00"
        protected[token] = m[0]
        return token

    text = _ALL_COUNTIES_RE.sub(protect, text)
    # A bracket holds one name's own words (市医保局(医疗救助)) unless it lists several: keep it with its name.
    text = re.sub(r"\([^()]*\)", protect, text)
    raws = []
    for strong in re.split(r"[、,;/\n\r\t]+|(?<=[局委办府院会])(?:和|及|与)(?=市|县|区)", text):
        whole = strong.strip("。.：: ")
        restored = whole
        for token, original in protected.items():
            restored = restored.replace(token, original)
        if " " in whole and known is not None and known(restored):
            raws.append(whole)
        else:
            raws += strong.split(" ")
    for raw in raws:
        raw = raw.strip("。.：: ")
        if not raw:
            continue
        for token, original in protected.items():
            raw = raw.replace(token, original)
        if raw.startswith(("牵头", "配合", "责任单位", "参与")) and ("：" in raw or ":" in raw):
            raw = re.split(r"[:：]", raw, maxsplit=1)[1]
        raw = strip_etc(raw)  # 市卫生健康委等: the 等 closes the list
        if not raw:
            continue
        if _ALL_COUNTIES_RE.fullmatch(raw) or re.fullmatch(r"各\s*(?:县|区).*", raw) and "政府" in raw:
            pieces.append(("counties", raw))
        else:
            pieces.append(("unit", raw))
    return pieces


# Words that make a unit cell a sentence about who does what (市卫健委牵头，市医保局配合; 市卫健委(牵头)、…;
# 牵头单位：…；配合单位：…; 市医保局、市卫健委按职责分工负责) rather than a plain list of names.
_ATTRIBUTION_WORDS_RE = re.compile(r"牵头|配合|负责|参与|协助|协办|主责|参加|落实")


@functools.lru_cache(maxsize=4096)  # a ledger repeats its unit cells
def attributed_units(text: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None:
    """(lead names, responsible names, county phrases) of a unit cell written as an attribution, read by the
    plan reader's rules (tasks.extraction.attribution: labels, 牵头/配合 verbs, a (牵头) mark, 分别负责 = each
    leads); None for a plain list of names, which `split_unit_cell` reads."""
    if not text or not _ATTRIBUTION_WORDS_RE.search(text):
        return None
    att = parse_attribution(to_simplified(unicodedata.normalize("NFKC", text)), None)
    if att is None or not (att.lead or att.responsible or att.county_units):
        return None
    return tuple(att.lead), tuple(att.responsible), tuple(att.county_units)


def unit_kind_for(name: str) -> str:
    """The kind of a new unit, from its name: a county-level government or administrative committee is a county."""
    name = normalize_unit_name(name)
    return (
        UnitKind.COUNTY if _COUNTY_NAME_RE.search(name) and not name.startswith("市") else UnitKind.DEPARTMENT
    )


STATUS_WORDS = (
    {p.label: p.value for p in Progress}
    | {p.value: p.value for p in Progress}
    | {
        "序时推进": Progress.IN_PROGRESS.value,
        "正在推进": Progress.IN_PROGRESS.value,
        "完成": Progress.COMPLETED.value,
    }
)


# --------------------------------------------------------------------------------------------------- documents

_DOC_NUMBER_RE = re.compile(r"[\w\u4e00-\u9fff]{1,12}[〔\[(（【]\s*\d{4}\s*[〕\])）】]\s*\d+\s*号")


def doc_number_in(text: str) -> str | None:
    m = _DOC_NUMBER_RE.search(text or "")
    return m[0] if m else None


def _doc_by_normalized_number(text: str):
    target = normalize_unit_name(text).replace("[", "(").replace("]", ")")
    if not target:
        return None
    for doc in Document.objects.exclude(doc_number=None).only("id", "doc_number", "title"):
        if normalize_unit_name(doc.doc_number) == target:
            return doc
    return None


def find_document(text: str) -> Document | None:
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return None
    number = doc_number_in(text)
    return (
        Document.objects.filter(doc_number=text).first()
        or Document.objects.filter(title=text).first()
        or (Document.objects.filter(doc_number=number).first() if number else None)
        or _doc_by_normalized_number(number or text)
    )


_TITLE_NOISE_RE = re.compile(r"^(?:附件|附表)\s*\d*\s*[:：]?\s*|^\s*[:：]")


def sheet_title(lines: list[str]) -> tuple[str | None, str]:
    """(文号, title) from the rows above the header: 附件1 / 平医改办〔2021〕3号 / 2021年深化医改重点工作任务分工表."""
    number = None
    candidates = []
    for line in lines:
        line = " ".join(line.split())
        found = doc_number_in(line)
        if found and not number:
            number = found
            rest = line.replace(found, "").strip(" ()（）《》:：")
            if len(rest) >= 6:
                candidates.append(rest)
            continue
        line = _TITLE_NOISE_RE.sub("", line).strip()
        if re.fullmatch(r"(?:附件|附表)?\s*\d*", line) or re.match(
            r"^(?:填报单位|填表|单位|制表|日期|时间)[:：]", line
        ):
            continue
        if len(line) >= 4:
            candidates.append(line)
    title = max(candidates, key=len) if candidates else ""
    return number, title[:300]


@functools.lru_cache(maxsize=2048)
def _found_targets(text: str) -> tuple:
    # the plan reader works on NFKC text (；→; ，→,), which is where its clause rules split
    return tuple(find_targets(to_simplified(unicodedata.normalize("NFKC", text)), []))


def row_targets(text: str, deadlines: list[ParsedDeadline]) -> list[Target]:
    """Numeric targets in a row's 目标任务/指标 text (县域内就诊率达到90%以上), read by the plan reader's rules
    (tasks.extraction.targets), as unsaved Target objects; each is due by the date its text names, else by the
    row's last deadline, as plan reading does for table rows (a recurring one: its next date). A value the rules
    cannot read is left out: the text stays on the task either way."""
    if not text or not any(ch.isdigit() for ch in text):
        return []
    fixed = [d.date for d in deadlines if d.date and not d.recurring]
    recurring = [d.date for d in deadlines if d.date and d.recurring]
    last = max(fixed) if fixed else min(recurring) if recurring else None
    out, seen = [], set()
    for t in _found_targets(text):
        value, high = t["value"] if isinstance(t.get("value"), list) else (t.get("value"), None)
        try:
            value = Decimal(str(value))
            high = Decimal(str(high)) if high is not None else None
        except (InvalidOperation, ValueError):
            continue
        by = t.get("by")
        due = dt.date.fromisoformat(by) if isinstance(by, str) else by if isinstance(by, dt.date) else last
        same = (t.get("indicator"), t.get("op"), value, high, t.get("unit"), due)
        if same in seen:  # one target said twice in the text (a summary, then the detail) is one target
            continue
        seen.add(same)
        values = {
            "indicator": (t.get("indicator") or "")[:200], "op": t.get("op") or ">=", "value": value,
            "value_high": high, "unit": (t.get("unit") or "")[:30], "due": due, "text": t.get("text") or "",
        }  # fmt: skip
        # positional arguments: Django's fast path (keyword arguments cost 15 µs a target, 0.35 s per 10,000 rows)
        out.append(Target(*[values.get(name, default) for name, default in _target_fields()]))
    return out


@functools.cache
def _target_fields() -> list[tuple[str, object]]:
    """(attname, default) of Target's concrete fields, in the order its __init__ takes them positionally."""
    return [
        (
            f.attname,
            f.get_default() if f.has_default() else None if f.null or f.primary_key else f.get_default(),
        )
        for f in Target._meta.concrete_fields
    ]


def titles_differ(old: str, new: str) -> bool:
    """A row that would update a task with a markedly different title: likely another plan's task at that path."""
    from rapidfuzz import fuzz

    a = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", old or ""))
    b = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", new or ""))
    if not a or not b or a == b or a in b or b in a:
        return False
    return max(fuzz.ratio(a, b), fuzz.partial_ratio(a, b) * 0.9) < 55


def deadline_milestones(parsed: list[ParsedDeadline], raw) -> list[tuple]:
    """(date, text, context, done) rows of a deadline cell; a recurring phrase gives each of its dates."""
    typed = not isinstance(raw, str)
    out = []
    for p in parsed:
        text = "" if typed else p.text[:200]
        if p.recurring and p.dates:
            out += [(d, text, "", False) for d in p.dates]
        else:
            out.append((p.date, text, "", False))
    return out
