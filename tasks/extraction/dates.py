"""Deadlines written in plans: years, year-ends, months, halves, quarters and relative limits."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9}


def cn_to_int(text: str) -> int | None:
    """12, 十二, 二十三, 一百 -> int; digit-by-digit years (二〇二〇) too."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if all(ch in CN_DIGITS for ch in text):
        value = 0
        for ch in text:
            value = value * 10 + CN_DIGITS[ch]
        return value
    total, current = 0, 0
    for ch in text:
        if ch in CN_DIGITS:
            current = CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


@dataclass
class Deadline:
    start: int
    end: int
    text: str
    date: dt.date | None

    def as_dict(self) -> dict:
        return {"text": self.text, "date": self.date.isoformat() if self.date else None}


_YEAR = r"(?:19|20)\d{2}"
_RANGE_RE = re.compile(
    rf"(?P<pre>到|至|截至|截止到|截止)?(?P<y1>{_YEAR})(?:年(?:(?P<m1>\d{{1,2}})月)?)?\s*[-—–~至到]+\s*"
    rf"(?:(?P<y2>{_YEAR})年)?(?:(?P<m2>\d{{1,2}})月)?(?P<post>底前|底|末|前|之前|以前)?"
)
_DATED_RE = re.compile(
    rf"(?P<pre>力争到|争取到|到|至|截至|截止到|截止)?(?P<y>{_YEAR})\s*年"
    r"(?:(?P<m>\d{1,2})\s*月(?:(?P<d>\d{1,2})\s*日|(?P<mpart>底|末|份|上旬|中旬|下旬))?"
    r"|(?P<part>上半年|下半年|年中|年底|年末|底|末|内|第[一二三四1-4]季度|[一二三四1-4]季度|前三季度))?"
    r"(?P<post>前|之前|以前|止)?"
)
_MONTH_RE = re.compile(
    r"(?<![\d年.])(?P<m>\d{1,2})\s*月(?:(?P<d>\d{1,2})\s*日|(?P<mpart>底|末|上旬|中旬|下旬))?(?P<post>前|之前|以前)?"
)
_YEARLESS_RE = re.compile(
    r"(?<![\d〇零一二三四五六七八九十百千每当学半周同多几数历全往逐近])"
    r"(?P<w>今年(?:底|年底|内)?前?|明年(?:底|上半年|年底)?前?|本年度?(?:内|底)|年底前|年底|年末|年内|上半年|下半年|年中)"
)
# 次年3月底前, 明年6月前, 今年9月底: a month of a year named relative to the plan's year.
_RELATIVE_YEAR_MONTH_RE = re.compile(
    r"(?P<w>次年|明年|翌年|第二年|今年|当年|本年)(?P<m>\d{1,2})\s*月(?:(?P<d>\d{1,2})\s*日|(?P<mpart>底|末|上旬|中旬|下旬))?"
    r"(?P<post>前|之前|以前)?"
)
_RELATIVE_RE = re.compile(
    r"(?P<pre>不超过|不得超过|不多于|最长不超过)?"
    r"(?P<n>\d{1,3}|[一二两三四五六七八九十]{1,3})\s*(?P<u>个工作日|个自然日|个月|工作日|自然日|周年|天|日|周|年|小时)"
    r"(?P<post>以内|之内|内|后|以后)?"
)
_TARGET_VERB_BEFORE_RE = re.compile(r"(?:控制在|缩短到|缩短至|缩短为|降至|降到|下降到|下降至|减少到|减少至|压缩到|压缩至|不低于|提高到|延长到|延长至)$")
_QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}
_PAST_WORDS_RE = re.compile(r"^(?:度|以来|起|开始|以后|至今|初|同期|全年|之前的|前的|的基础)")


def _quarter(text: str) -> int | None:
    m = re.search(r"([一二三四1-4])季度", text)
    if not m:
        return None
    return cn_to_int(m.group(1)) if not m.group(1).isdigit() else int(m.group(1))


def _date_for_parts(year: int, month: int | None, day: int | None, mpart: str | None, part: str | None) -> dt.date | None:
    try:
        if month:
            if not 1 <= month <= 12:
                return None
            if day:
                return dt.date(year, month, day)
            if mpart == "上旬":
                return dt.date(year, month, 10)
            if mpart == "中旬":
                return dt.date(year, month, 20)
            return month_end(year, month)
        if part in ("上半年", "年中"):
            return dt.date(year, 6, 30)
        if part and "季度" in part:
            if part == "前三季度":
                return dt.date(year, 9, 30)
            q = _quarter(part)
            if q:
                return dt.date(year, *_QUARTER_END[q])
        return dt.date(year, 12, 31)
    except ValueError:
        return None


class DateContext:
    """What a plan's dates without a year are read against."""

    def __init__(self, doc_year: int | None = None, issued_on: dt.date | None = None, skip_past: bool = True):
        self.doc_year = doc_year or (issued_on.year if issued_on else None)
        self.issued_on = issued_on
        # In running text a year already past when the plan was issued is background;
        # in a deadline column it is still the deadline.
        self.skip_past = skip_past

    def year_for(self, month: int, day: int | None = None) -> int | None:
        if not self.doc_year:
            return None
        return self.doc_year


def _in_book_title(text: str, pos: int) -> bool:
    """Inside 《…》: a cited document's period, not a deadline."""
    open_at = text.rfind("《", max(0, pos - 80), pos)
    return open_at != -1 and text.find("》", open_at, pos) == -1


def find_deadlines(text: str, ctx: DateContext, include_relative: bool = True) -> list[Deadline]:
    found: list[Deadline] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    def add(start: int, end: int, label: str, date: dt.date | None) -> None:
        if free(start, end):
            taken.append((start, end))
            found.append(Deadline(start, end, label, date))

    for m in _RANGE_RE.finditer(text):
        if not (m.group("y2") or m.group("m2")) or _in_book_title(text, m.start()):
            continue
        y2 = int(m.group("y2") or m.group("y1"))
        m2 = int(m.group("m2")) if m.group("m2") else None
        date = _date_for_parts(y2, m2, None, None, None)
        if int(m.group("y1")) > y2:
            continue
        add(m.start(), m.end(), m.group(0), date)

    for m in _DATED_RE.finditer(text):
        if _in_book_title(text, m.start()):
            continue
        tail = text[m.end(): m.end() + 4]
        if not m.group("m") and not m.group("part") and _PAST_WORDS_RE.match(tail):
            continue
        year = int(m.group("y"))
        if ctx.skip_past and ctx.doc_year and year < ctx.doc_year:
            continue
        month = int(m.group("m")) if m.group("m") else None
        day = int(m.group("d")) if m.group("d") else None
        date = _date_for_parts(year, month, day, m.group("mpart"), m.group("part"))
        if date is None:
            continue
        add(m.start(), m.end(), m.group(0), date)

    for m in _RELATIVE_YEAR_MONTH_RE.finditer(text):
        month = int(m.group("m"))
        if not (1 <= month <= 12):
            continue
        year = ctx.doc_year
        if year and m.group("w") in ("次年", "明年", "翌年", "第二年"):
            year += 1
        day = int(m.group("d")) if m.group("d") else None
        date = _date_for_parts(year, month, day, m.group("mpart"), None) if year else None
        add(m.start(), m.end(), m.group(0), date)

    for m in _MONTH_RE.finditer(text):
        if not (m.group("post") or m.group("mpart") in ("底", "末")):
            continue
        month = int(m.group("m"))
        day = int(m.group("d")) if m.group("d") else None
        year = ctx.year_for(month, day)
        if not (1 <= month <= 12):
            continue
        date = _date_for_parts(year, month, day, m.group("mpart"), None) if year else None
        add(m.start(), m.end(), m.group(0), date)

    for m in _YEARLESS_RE.finditer(text):
        word = m.group("w")
        year = ctx.doc_year
        if year and word.startswith("明年"):
            year += 1
        part = "上半年" if "上半年" in word else ("年中" if word == "年中" else None)
        date = _date_for_parts(year, None, None, None, part) if year else None
        add(m.start(), m.end(), word, date)

    if include_relative:
        for m in _RELATIVE_RE.finditer(text):
            if not (m.group("pre") or m.group("post")):
                continue
            n = cn_to_int(m.group("n"))
            if n is None or n == 0 or (m.group("u") == "年" and n > 30):
                continue
            if m.group("u") == "年" and not m.group("post"):
                continue
            before = text[max(0, m.start() - 1): m.start()]
            if before and (before.isdigit() or before in "第每近"):
                continue
            if _TARGET_VERB_BEFORE_RE.search(text[max(0, m.start() - 4): m.start()]):
                continue  # 平均住院日控制在8天以内: a target on a duration, not a time limit
            if m.group("u") in ("日", "年") and m.group("post") in ("后", "以后") and before in "月":
                continue
            add(m.start(), m.end(), m.group(0), None)

    found.sort(key=lambda d: d.start)
    return found


def parse_deadline_cell(cell: str, ctx: DateContext) -> list[Deadline]:
    """A 完成时限 column or label: dates found in it, else the words as written (长期坚持, 持续推进)."""
    cell = cell.strip().strip("。;,")
    if not cell:
        return []
    dotted = re.fullmatch(r"((?:19|20)\d{2})[.\-/年](\d{1,2})(?:[.\-/月](\d{1,2})日?)?月?(底前|底|前|末)?", cell)
    if dotted:
        year, month = int(dotted.group(1)), int(dotted.group(2))
        day = int(dotted.group(3)) if dotted.group(3) else None
        date = _date_for_parts(year, month, day, None, None)
        if date:
            return [Deadline(0, len(cell), cell, date)]
    cell_ctx = DateContext(ctx.doc_year if ctx else None, ctx.issued_on if ctx else None, skip_past=False)
    found = find_deadlines(cell, cell_ctx)
    if found:
        return found
    return [Deadline(0, len(cell), cell, None)]
