"""The product's one reading of Chinese deadline phrases (完成时限).

Two entry points share the vocabulary below:

* ``parse_deadlines(value, year=…)``: a deadline cell or field as offices write it (Excel import, task form, API,
  plan review): every phrase in it becomes a ``ParsedDeadline`` (text, date, recurring, warning). A phrase that is
  not fully understood carries a warning instead of a guessed date.
* ``find_deadlines(text, ctx)``: deadlines inside a plan's running text (plan extraction), where most years are
  background and only phrases that read as limits count.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

CN_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


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
_TARGET_VERB_BEFORE_RE = re.compile(
    r"(?:控制在|缩短到|缩短至|缩短为|降至|降到|下降到|下降至|减少到|减少至|压缩到|压缩至|不低于|提高到|延长到|延长至)$"
)
_QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}
_PAST_WORDS_RE = re.compile(r"^(?:度|以来|起|开始|以后|至今|初|同期|全年|之前的|前的|的基础)")


def _quarter(text: str) -> int | None:
    m = re.search(r"([一二三四1-4])季度", text)
    if not m:
        return None
    return cn_to_int(m.group(1)) if not m.group(1).isdigit() else int(m.group(1))


def _date_for_parts(
    year: int, month: int | None, day: int | None, mpart: str | None, part: str | None
) -> dt.date | None:
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
        tail = text[m.end() : m.end() + 4]
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
            before = text[max(0, m.start() - 1) : m.start()]
            if before and (before.isdigit() or before in "第每近"):
                continue
            if _TARGET_VERB_BEFORE_RE.search(text[max(0, m.start() - 4) : m.start()]):
                continue  # 平均住院日控制在8天以内: a target on a duration, not a time limit
            if m.group("u") in ("日", "年") and m.group("post") in ("后", "以后") and before in "月":
                continue
            add(m.start(), m.end(), m.group(0), None)

    found.sort(key=lambda d: d.start)
    return found


def parse_deadline_cell(cell: str, ctx: DateContext) -> list[Deadline]:
    """A 完成时限 column or label of a plan: the phrases found in it as in running text (their own words), else
    what ``parse_deadlines`` dates (春节前, 20210630, 每季度末), else the words as written (长期坚持, 持续推进)."""
    cell = cell.strip().strip("。;,")
    if not cell:
        return []
    dotted = re.fullmatch(
        r"((?:19|20)\d{2})[.\-/年](\d{1,2})(?:[.\-/月](\d{1,2})日?)?月?(底前|底|前|末)?", cell
    )
    if dotted:
        year, month = int(dotted.group(1)), int(dotted.group(2))
        day = int(dotted.group(3)) if dotted.group(3) else None
        date = _date_for_parts(year, month, day, None, None)
        if date:
            return [Deadline(0, len(cell), cell, date)]
    cell_ctx = DateContext(ctx.doc_year if ctx else None, ctx.issued_on if ctx else None, skip_past=False)
    found = find_deadlines(cell, cell_ctx)
    if any(d.date for d in found):
        return found
    parsed = [p for p in parse_deadlines(cell, year=cell_ctx.doc_year) if p.date]
    if parsed:
        out, pos = [], 0
        for p in parsed:
            start = max(cell.find(p.text, pos), pos)
            out.append(Deadline(start, start + len(p.text), p.text, p.date))
            pos = start + len(p.text)
        return out
    return found or [Deadline(0, len(cell), cell, None)]


# --------------------------------------------------------------------------------------------------- cells


@dataclass
class ParsedDeadline:
    """One deadline phrase of a cell. ``date`` is None for long-term and relative limits and for what is not
    understood (then ``warning`` says why). A recurring phrase (每季度末) has its next date in ``date`` and the
    following ones in ``dates``."""

    text: str
    date: dt.date | None
    recurring: bool = False
    warning: str | None = None
    dates: list[dt.date] = field(default_factory=list)
    invalid: bool = False  # a date that cannot exist (2022年13月, 2月30日): an error, not a warning

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "date": self.date.isoformat() if self.date else None,
            "recurring": self.recurring,
            "warning": self.warning,
        }


EXCEL_EPOCH = dt.date(1899, 12, 30)
NO_YEAR_WARNING = "没有写年份，文件标题和文号中也找不到年份：请写明年份（如 2022年6月底前）"
LONG_TERM_RE = re.compile(
    r"^(?:长期(?:坚持|推进|执行|开展|实施|有效)?|持续(?:推进|开展|实施|进行|落实|做好|深化|推动)?|常态化(?:推进|开展)?"
    r"|长效(?:推进)?|逐年(?:推进|落实)?|按年度推进|分步(?:推进|实施)|全年|常年|经常性|稳步推进|动态调整|根据.*|按.*要求|贯穿全年)$"
)
_CN_MONTH_RE = re.compile(r"(十[一二]|[一二三四五六七八九十])(?=月)")
_CN_DAY_RE = re.compile(
    r"(?<=月)(三十[一]?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九])(?=[日号])"
)
_CN_YEAR_RE = re.compile(r"([二〇○零一二三四五六七八九]{4})(?=年)")
_FESTIVALS = {
    "元旦": "New Year's Day",
    "春节": "Spring Festival",
    "清明": "Tomb-sweeping Day",
    "清明节": "Tomb-sweeping Day",
    "五一": "Labour Day",
    "劳动节": "Labour Day",
    "五一劳动节": "Labour Day",
    "端午": "Dragon Boat Festival",
    "端午节": "Dragon Boat Festival",
    "中秋": "Mid-autumn Festival",
    "中秋节": "Mid-autumn Festival",
    "国庆": "National Day",
    "国庆节": "National Day",
    "十一": "National Day",
}
_Y = r"(?P<y>(?:19|20)\d{2})"
_SEP = r"\s*[-—–~～至到]+\s*"


def _normalize_cell(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _CN_YEAR_RE.sub(lambda m: "".join(str(CN_DIGITS[c]) for c in m[1]), text)
    text = _CN_MONTH_RE.sub(lambda m: str(cn_to_int(m[1])), text)
    text = _CN_DAY_RE.sub(lambda m: str(cn_to_int(m[1])), text)
    return re.sub(r"[ \t\u3000]+", "", text)


def _festival_first_day(year: int, name: str) -> dt.date | None:
    """First day off of a festival in a year, from the official calendar (None when the calendar lacks the year)."""
    import chinese_calendar

    days = sorted(d for d, n in chinese_calendar.holidays.items() if n == name and abs(d.year - year) <= 1)
    blocks: list[list[dt.date]] = []
    for d in days:
        if blocks and (d - blocks[-1][-1]).days <= 1:
            blocks[-1].append(d)
        else:
            blocks.append([d])
    for block in blocks:
        if block[-1].year == year:
            return block[0]
    return None


def _quarter_end(year: int, q: int) -> dt.date:
    return dt.date(year, *_QUARTER_END[q])


def _recurring(piece: str, today: dt.date) -> ParsedDeadline | None:
    """每季度末, 每月28日前, 每半年, 每年6月底前, 每季度结束后10个工作日内: the next dates from today."""
    m = re.search(r"每(?:个)?(季度|月|半年|年|年度)", piece)
    if not m:
        return None
    unit = m[1]
    rest = piece[m.end() :]
    warning = None
    occurrences: list[dt.date] = []
    horizon = today + dt.timedelta(days=400)

    def periods():
        y = today.year
        while dt.date(y, 1, 1) <= horizon:
            if unit == "季度":
                yield from (_quarter_end(y, q) for q in (1, 2, 3, 4))
            elif unit == "月":
                yield from (month_end(y, mo) for mo in range(1, 13))
            elif unit == "半年":
                yield from (dt.date(y, 6, 30), dt.date(y, 12, 31))
            else:
                yield dt.date(y, 12, 31)
            y += 1

    after = re.match(
        r"(?:结束|末|底)?(?:后|之后)(\d{1,3})(个工作日|个自然日|工作日|日|天)(?:内|以内|前)?", rest
    )
    day_of_month = re.match(r"(?:的)?(\d{1,2})[日号](?:前|之前|以前)?", rest)
    first_month_day = re.match(r"(?:首月|第一个月|初)(\d{1,2})[日号](?:前|之前)?", rest)
    year_date = re.match(r"(\d{1,2})月(?:(\d{1,2})[日号]|底|末|份)?(?:前|之前|以前)?", rest)
    for end in periods():
        try:
            if after:
                n = int(after[1])
                if "工作日" in after[2]:
                    import chinese_calendar

                    date = chinese_calendar.find_workday(n, end)
                else:
                    date = end + dt.timedelta(days=n)
            elif unit == "月" and day_of_month:
                date = dt.date(end.year, end.month, min(int(day_of_month[1]), end.day))
            elif unit == "季度" and first_month_day:
                nxt = end + dt.timedelta(days=1)
                date = dt.date(nxt.year, nxt.month, int(first_month_day[1]))
            elif unit in ("年", "年度") and year_date:
                date = (
                    dt.date(end.year, int(year_date[1]), int(year_date[2]))
                    if year_date[2]
                    else month_end(end.year, int(year_date[1]))
                )
            else:
                date = end
        except (ValueError, NotImplementedError):
            return ParsedDeadline(piece, None, True, f"周期性时限“{piece}”中的日期无效", invalid=True)
        if today <= date <= horizon:
            occurrences.append(date)
    # 每季度末 / 每月报送一次: the period's end. A day or month inside the period that was not read above
    # (每季度第二个月, 每月中旬) is not guessed: the period's end with a warning.
    understood = bool(after or day_of_month or first_month_day or year_date) or not re.search(
        r"\d|第|首|初|中|上旬|下旬", rest
    )
    if not understood:
        warning = f"周期性时限“{piece}”按每{unit}末计，请核对"
    occurrences = sorted(set(occurrences))[: {"月": 12, "季度": 4, "半年": 2}.get(unit, 1)]
    return ParsedDeadline(piece, occurrences[0] if occurrences else None, True, warning, occurrences)


# One phrase of a cell: the patterns are tried in order on the normalized phrase; the first that matches decides.
_FULL_DATE_RE = re.compile(
    rf"{_Y}(?:(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}})(?!\d)|年(?P<m2>\d{{1,2}})月(?P<d2>\d{{1,2}})[日号]?)"
)
_COMPACT_RE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?!\d)")
_YEAR_RANGE_RE = re.compile(
    rf"{_Y}年?(?:(?P<m1>\d{{1,2}})月)?{_SEP}(?P<y2>(?:19|20)\d{{2}})年?(?:(?P<m2>\d{{1,2}})月(?P<p2>底|末|上旬|中旬|下旬)?)?"
)
_MONTH_RANGE_RE = re.compile(
    rf"(?:{_Y}年)?(?P<m1>\d{{1,2}})月?{_SEP}(?P<m2>\d{{1,2}})月(?P<p2>底|末|上旬|中旬|下旬)?"
)
_MONTH_LIST_RE = re.compile(r"(?:(?P<y>(?:19|20)\d{2})年)?(?P<m1>\d{1,2})[、,](?P<m2>\d{1,2})月")
_QUARTER_LIST_RE = re.compile(
    r"(?:(?P<y>(?:19|20)\d{2})年)?第?(?P<q1>[一二三四1-4])[、,和至到-](?:第)?(?P<q2>[一二三四1-4])季度"
)
_FESTIVAL_RE = re.compile(
    rf"(?:{_Y}年)?(?P<f>{'|'.join(sorted(_FESTIVALS, key=len, reverse=True))})(?:节)?(?P<post>前|之前|以前|期间|后|之后)?"
)
_HALF_RE = re.compile(rf"(?:{_Y}年)?(?:度)?(?P<h>上半年|下半年|年中)")
_QUARTER_RE = re.compile(
    rf"(?:{_Y}年)?(?:度)?(?P<pre>前)?第?(?P<q>[一二三四1-4])季度(?P<post>末|底|前|内|初)?"
)
_MONTH_RE_CELL = re.compile(
    rf"(?:{_Y}[年.\-/])?(?P<m>\d{{1,2}})(?:月(?P<d>\d{{1,2}})[日号]|月(?P<p>底|末|份|上旬|中旬|下旬|初|中)?|(?=$|[前底末]))"
)
_YEAR_RE_CELL = re.compile(rf"{_Y}(?:年(?:度)?(?P<p>底|末|内|前|初|中)?|(?=$|[前底末以之]))")
_YEARLESS_END_RE = re.compile(
    r"(?:今年|本年度?|当年)?(?P<p>年底|年末|年内|年前)|(?:今年|本年度?|当年)(?P<p2>底|内)"
)
_RELATIVE_CELL_RE = re.compile(
    r"(?P<n>\d{1,3}|[一二两三四五六七八九十]{1,3})(?:个)?(?P<u>工作日|自然日|月|日|天|周|年|小时)(?:以内|之内|内|后)"
)


def _part_date(year: int, month: int, part: str | None, day: int | None = None) -> tuple[dt.date, str | None]:
    if day:
        return dt.date(year, month, day), None
    if part == "上旬":
        return dt.date(year, month, 10), None
    if part in ("中旬", "中"):
        return dt.date(year, month, 20), None
    if part == "初":
        return dt.date(year, month, 10), f"“月初”按 {month} 月 10 日计，请核对"
    return month_end(year, month), None


def _parse_piece(piece: str, year: int | None, today: dt.date) -> tuple[ParsedDeadline, int | None]:
    """One phrase -> (deadline, the year it named, carried to the next phrase of the same cell)."""
    text = _normalize_cell(piece)
    core = text.strip("。.,，;；:： ")
    # the second clause of a cell often opens with a conjunction: 2026年6月底前完成，并长期坚持
    core = re.sub(r"^(?:并且|并|且|同时|此后|之后|以后|然后)(?=\S)", "", core)
    if not core:
        return ParsedDeadline(piece, None), None
    if LONG_TERM_RE.match(core) or re.fullmatch(r"(?:长期|持续|常态化).{0,8}", core):
        return ParsedDeadline(piece, None), None
    if recurring := _recurring(core, today):
        recurring.text = piece
        return recurring, None

    def need_year(y: str | None) -> int | None:
        return int(y) if y else year

    def done(date: dt.date | None, named: str | None, warning: str | None = None, invalid: bool = False):
        if date is None and warning is None:
            warning = NO_YEAR_WARNING
        return ParsedDeadline(piece, date, False, warning, invalid=invalid), (int(named) if named else None)

    if re.search(r"(?:年|月|日|号|季度)(?:起|开始|以来|起步|启动)", core) and not re.search(
        r"[前底末止]", core
    ):
        return done(None, None, f"“{piece}”是开始时间，不是完成时限，请写明完成日期")
    try:
        if m := _FULL_DATE_RE.search(core):
            return done(dt.date(int(m["y"]), int(m["m"] or m["m2"]), int(m["d"] or m["d2"])), m["y"])
        if m := _COMPACT_RE.search(core):
            return done(dt.date(int(m["y"]), int(m["m"]), int(m["d"])), m["y"])
        if m := _YEAR_RANGE_RE.search(core):
            y1, y2 = int(m["y"]), int(m["y2"])
            if y2 < y1:
                return done(None, None, f"时限“{piece}”的起止年份颠倒", invalid=True)
            if m["m2"]:
                date, warning = _part_date(y2, int(m["m2"]), m["p2"])
                return done(date, m["y2"], warning)
            return done(dt.date(y2, 12, 31), m["y2"])
        if m := _QUARTER_LIST_RE.search(core):
            y = need_year(m["y"])
            q = max(cn_to_int(m["q1"]) or 0, cn_to_int(m["q2"]) or 0)
            return done(_quarter_end(y, q) if y else None, m["y"])
        if m := _MONTH_RANGE_RE.search(core):
            y = need_year(m["y"])
            m1, m2 = int(m["m1"]), int(m["m2"])
            if not (1 <= m1 <= 12 and 1 <= m2 <= 12) or m2 < m1:
                return done(None, None, f"时限“{piece}”的月份无效", invalid=True)
            date, warning = _part_date(y, m2, m["p2"]) if y else (None, None)
            return done(date, m["y"], warning)
        if m := _MONTH_LIST_RE.search(core):
            y = need_year(m["y"])
            return done(month_end(y, max(int(m["m1"]), int(m["m2"]))) if y else None, m["y"])
        if m := _FESTIVAL_RE.search(core):
            y = need_year(m["y"])
            if not y:
                return done(None, None)
            name = _FESTIVALS[m["f"]]
            first = _festival_first_day(y, name)
            if first is None:
                return done(None, m["y"], f"节假日日历中没有 {y} 年{m['f']}的放假安排，请写明具体日期")
            if m["post"] in ("后", "之后"):
                return done(None, m["y"], f"“{piece}”是节后开始的时间，不是完成时限，请写明具体日期")
            return done(first - dt.timedelta(days=1), m["y"])
        if m := _HALF_RE.search(core):
            y = need_year(m["y"])
            return done(
                (dt.date(y, 12, 31) if m["h"] == "下半年" else dt.date(y, 6, 30)) if y else None, m["y"]
            )
        if m := _QUARTER_RE.search(core):
            y = need_year(m["y"])
            q = cn_to_int(m["q"]) if not m["q"].isdigit() else int(m["q"])
            if m["pre"]:  # 前三季度: the end of the third
                return done(_quarter_end(y, q) if y else None, m["y"])
            if m["post"] == "初":
                return done(None, m["y"], f"“{piece}”是季度初，不是完成时限，请写明具体日期")
            return done(_quarter_end(y, q) if y else None, m["y"])
        if m := re.search(
            r"(?:明年|次年|翌年)(?:(?P<m>\d{1,2})月(?P<p>底|末)?|(?P<e>底|年底|上半年))?", core
        ):
            if not year:
                return done(None, None)
            y = year + 1
            if m["m"]:
                return done(month_end(y, int(m["m"])), None)
            return done(dt.date(y, 6, 30) if m["e"] == "上半年" else dt.date(y, 12, 31), None)
        if m := _MONTH_RE_CELL.search(core):
            month = int(m["m"])
            if m["y"] is None and "月" not in core[m.start() : m.end()]:
                m = None  # a bare number is not a month
            elif not 1 <= month <= 12:
                return done(None, None, f"时限“{piece}”中的月份 {month} 无效", invalid=True)
            else:
                y = need_year(m["y"])
                if not y:
                    return done(None, None)
                date, warning = _part_date(y, month, m["p"], int(m["d"]) if m["d"] else None)
                return done(date, m["y"], warning)
        if m := _YEAR_RE_CELL.search(core):
            y = int(m["y"])
            if m["p"] == "初":
                return done(None, m["y"], f"“{piece}”是年初，不是明确的完成时限，请写明具体日期")
            if m["p"] == "中":
                return done(dt.date(y, 6, 30), m["y"])
            return done(dt.date(y, 12, 31), m["y"])
        if m := _YEARLESS_END_RE.search(core):
            return done(dt.date(year, 12, 31) if year else None, None)
        if _RELATIVE_CELL_RE.search(core):
            return done(None, None, f"“{piece}”是相对时限，没有具体日期，请在备注中写明起算日或补充日期")
    except ValueError:
        return done(None, None, f"时限“{piece}”中的日期无效", invalid=True)
    return done(None, None, f"无法识别时限“{piece}”，请写成 2022年6月底前、2022-06-30 这样的日期")


def parse_deadlines(value, *, year: int | None = None, today: dt.date | None = None) -> list[ParsedDeadline]:
    """Every deadline of one cell or field: a date, an Excel date number or text with one or more phrases
    separated by ，、；or new lines. ``year`` is the plan's year for phrases without one (6月底前, 年底前)."""
    today = today or dt.date.today()
    if value is None or value == "":
        return []
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return [ParsedDeadline(value.isoformat(), value)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 20000 <= value <= 80000:
            date = EXCEL_EPOCH + dt.timedelta(days=int(value))
            return [ParsedDeadline(date.isoformat(), date)]
        if float(value).is_integer() and 1990 <= value <= 2100:
            return [ParsedDeadline(str(int(value)), dt.date(int(value), 12, 31))]
        value = str(int(value)) if float(value).is_integer() else str(value)
    raw = str(value).strip()
    if re.fullmatch(r"\d{5}(?:\.0+)?", raw):
        return parse_deadlines(float(raw), year=year, today=today)
    # Separators inside one phrase are protected first: 第二、三季度, 6、7月.
    protected = re.sub(r"(?<=[一二三四1-4])[、,，](?=第?[一二三四1-4]季度)", "\x00", raw)
    protected = re.sub(r"(?<=\d)[、,，](?=\d{1,2}月)", "\x01", protected)
    pieces = [p.strip() for p in re.split(r"[，,、；;\n\r]+|(?<=[^\d])\s{2,}", protected) if p.strip()]
    out: list[ParsedDeadline] = []
    carried = year
    for piece in pieces:
        piece = piece.replace("\x00", "、").replace("\x01", "、")
        parsed, named = _parse_piece(piece, carried, today)
        if not parsed.text.strip("。.,，;；:： "):
            continue
        if named:
            carried = named  # 2021年6月底前、12月底前: the second phrase is in 2021 too
        out.append(parsed)
    if any(p.date or p.recurring or (p.warning is None) for p in out):
        # Words that name no time (方舱医院升级改造，…，1月底前完成) say what the next phrase's date is for:
        # they go with it instead of standing as deadlines of their own.
        merged: list[ParsedDeadline] = []
        pending: list[str] = []
        for p in out:
            if (
                p.date is None
                and not p.recurring
                and p.warning
                and not p.invalid
                and _NO_TIME_RE.fullmatch(p.text)
            ):
                pending.append(p.text)
                continue
            if pending:
                p.text = "，".join([*pending, p.text])
                pending = []
            merged.append(p)
        if pending and merged:
            merged[-1].text = "，".join([merged[-1].text, *pending])
        out = merged
    return out


_NO_TIME_RE = re.compile(r"[^\d年月日号季旬期限内前后底末]*")


_DOC_YEAR_RE = re.compile(r"[〔\[(（【]((?:19|20)\d{2})[〕\])）】]")
_TITLE_YEAR_RE = re.compile(r"((?:19|20)\d{2})\s*年")


def year_of_plan(*texts: str | None) -> int | None:
    """The plan's year, for phrases without one: the 文号's 〔2021〕 first, else the last year named in the title
    ("2021年深化医改重点工作任务"; "2021—2022年" gives 2021, the first year the plan starts)."""
    for text in texts:
        if text and (
            m := _DOC_YEAR_RE.search(unicodedata.normalize("NFKC", text).replace("(", "(").replace(")", ")"))
        ):
            return int(m[1])
    for text in texts:
        text = unicodedata.normalize("NFKC", text or "")
        if m := re.search(r"((?:19|20)\d{2})\s*年?\s*[-—–~至到]", text):
            return int(m[1])
        if m := _TITLE_YEAR_RE.search(text):
            return int(m[1])
    return None


DATE_HINT = "可写作 2022-06-30、2022年12月、2022年底、2020.12 或 Excel 日期"
