"""The head of a plan's text: its own 文号 (not the ones it cites), title, issuer and date, and whether it forwards
another document; what extract_plan (tasks/extraction/engine.py) and the plan upload read first."""

from __future__ import annotations

import datetime as dt
import re

from .dates import cn_to_int
from .text import clean_lines, match_marker, squeeze_spaces

_DOC_NUMBER_RE = re.compile(
    r"(?P<org>[A-Za-z\u4e00-\u9fff]{1,12})\s*[〔\[(【]\s*(?P<year>(?:19|20)\d{2})\s*[〕\])】]\s*(?P<n>\d{1,4})\s*号"
)
_TITLE_END_RE = re.compile(
    r"(?:通知|意见|方案|决定|函|办法|规定|批复|报告|计划|要点|通报|规划|细则|任务|清单|分工|措施|解读)(?:\(试行\))?$"
)
_PLAN_TITLE_RE = re.compile(
    r"(?:方案|任务|计划|意见|要点|规划|办法|措施|清单|分工|解读|安排)(?:\(试行\)|\(\d{4}[-—]\d{4}年\))?$"
)
_ISSUER_RE = re.compile(r"(?:办公室|办公厅|人民政府|委员会|领导小组|医改办|秘书处|局|委|厅|党委|政府)$")
_DATE_LINE_RE = re.compile(r"^(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日$")
_CN_DATE_LINE_RE = re.compile(
    r"^(?P<y>[〇○零一二三四五六七八九]{4})年(?P<m>[一二三四五六七八九十]{1,2})月(?P<d>[一二三四五六七八九十]{1,3})日$"
)
ATTACHMENT_RE = re.compile(r"^附\s*件\s*(?P<n>\d{0,2})\s*(?::|$|\s)")

# ---------------------------------------------------------------- header


def parse_header(lines: list[str]) -> dict:
    nonblank = [(i, line) for i, line in enumerate(lines) if line]
    first_marker = next(
        (i for i, line in nonblank if match_marker(line) and match_marker(line)[0] in ("l1", "ch")),
        len(lines),
    )
    header = [(i, line) for i, line in nonblank if i < first_marker][:120]

    doc_number = _own_doc_number(header)

    title = issuer = None
    title_at = -1
    for pos, (_i, line) in enumerate(header):
        at = line.find("关于")
        if at == -1 or "关于本站" in line or (at > 0 and not _ISSUER_RE.search(line[:at].strip())):
            continue
        parts = [line]
        j = pos
        while not _title_complete("".join(parts)) and j + 1 < len(header) and len(parts) < 5:
            j += 1
            if _DOC_NUMBER_RE.search(header[j][1]):
                break
            parts.append(header[j][1])
        joined = "".join(parts)
        if not _title_complete(joined):
            continue
        joined = joined[:at] + squeeze_spaces(
            joined[at:]
        )  # 关于印发 2023年… : a space left by the page layout
        title, title_at = joined, header[j][0]
        if at > 0:
            issuer = line[:at].strip()
        elif (
            pos > 0
            and _ISSUER_RE.search(header[pos - 1][1])
            and len(header[pos - 1][1]) <= 60
            and not re.search(r"[。,;:]", header[pos - 1][1])
        ):
            issuer = header[pos - 1][1]
            title = issuer + title
        break

    plan_title = _plan_title(header, after=title_at)
    if plan_title is None:
        plan_title = _forwarded_title(header)
    if title is None:
        title = plan_title

    issued_on = None
    for i, line in enumerate(lines):
        if i <= title_at:
            continue
        issued_on = _date_line(line)
        if issued_on:
            signed = _issuer_before(lines, i)
            if issuer is None or (signed and re.match(r"^[市县区省]", issuer) and len(signed) > len(issuer)):
                issuer = signed or issuer  # 市政府办公室 in the title, 泰州市人民政府办公室 under the text
            break
    if issuer:
        issuer = "、".join(issuer.split())
    if re.search(r"解读$", title or "") or re.search(r"解读$", plan_title or ""):
        # an interpretation has no 文号 of its own: the number it shows is the interpreted plan's
        doc_number = None
    return {
        "doc_number": doc_number,
        "title": title or "",
        "plan_title": plan_title,
        "issuer": issuer,
        "issued_on": issued_on,
    }


# Where a document's own number stands: alone on its line (perhaps in brackets), after a 文号 label, or opening
# the line. A number inside prose -- 根据《…》(国办发〔2015〕38号) -- is a cited document's, never its own.
_NUMBER_LABEL_RE = re.compile(r"(?:发文字号|文\s*号|字号|发文号)\s*[:|]?\s*$")
_CITING_RE = re.compile(r"按照|根据|依据|贯彻|落实|执行|参照|印发|转发|关于|要求|精神|和|及")
_LINE_JUNK_RE = re.compile(r"^(?:[\s(\[【〔]|<正>)*$")


def _own_doc_number(header: list[tuple[int, str]]) -> str | None:
    for _, line in header:
        for m in _DOC_NUMBER_RE.finditer(line):
            org = re.sub(r"^.*?(?:文号|字号|发文)[:]?", "", m.group("org"))
            before = line[: m.start()]
            if _CITING_RE.search(org):
                continue  # 按照国办发〔2020〕25号: a number cited in a sentence
            number = f"{org}〔{m.group('year')}〕{m.group('n')}号"
            if m.group("org") != org or _NUMBER_LABEL_RE.search(before) or _LINE_JUNK_RE.match(before):
                return number
            # 关于印发…的通知(平政办〔2020〕7号): a title followed by its own number, at the end of the line
            title = before.rstrip(" ([【〔")
            if (
                title != before
                and not line[m.end() :].strip(" )]】〕")
                and _TITLE_END_RE.search(title)
                and not title.endswith("》")
                and not _CITING_RE.match(title)
            ):
                return number
    return None


def _title_complete(text: str) -> bool:
    return text.count("《") <= text.count("》") and bool(_TITLE_END_RE.search(text))


# (此件公开发布), a date that lost its 年月日 (201675): lines that never start a title.
_NOT_TITLE_LINE_RE = re.compile(r"^(?:\([^()]*\)|[\d\s.\-/]+)$")


def _plan_title(header: list[tuple[int, str]], after: int) -> str | None:
    for pos, (i, line) in enumerate(header):
        if (
            i <= after
            or line.startswith("关于")
            or re.search(r"[。;:]", line)
            or len(line) > 60
            or _date_line(line)
            or ATTACHMENT_RE.match(line)
            or _NOT_TITLE_LINE_RE.match(line)
        ):
            continue
        candidates = [line]
        if (
            pos + 1 < len(header)
            and len(line) < 40
            and not re.search(r"[。;:,]", header[pos + 1][1])
            and not _date_line(header[pos + 1][1])
        ):
            candidates.append(line + header[pos + 1][1])
        for cand in candidates:
            if (
                _PLAN_TITLE_RE.search(cand)
                and len(cand) >= 6
                and (not cand.startswith("《") or cand.endswith("解读"))
            ):
                return squeeze_spaces(cand)
    return None


# 现将《X》印发给你们 / 《X》已经市政府同意，现印发给你们: the plan a notice forwards.
_FORWARD_RE = re.compile(
    r"(?:现将|将)《(?P<a>[^《》]{4,80})》[^。]{0,30}?(?:印发|下发|转发)|《(?P<b>[^《》]{4,80})》已经[^。]{0,60}?(?:印发|下发)"
)


def _forwarded_title(header: list[tuple[int, str]]) -> str | None:
    for _, line in header:
        m = _FORWARD_RE.search(line)
        if m:
            return squeeze_spaces(m.group("a") or m.group("b"))
    return None


def read_header(text: str) -> dict:
    """The document facts alone (文号, title, issuer, date): for a check before the whole plan is read."""
    header = parse_header(clean_lines(str(text or "")))
    issued = header["issued_on"]
    return {**header, "issued_on": issued.isoformat() if issued else None}


def _date_line(line: str) -> dt.date | None:
    m = _DATE_LINE_RE.match(line)
    try:
        if m:
            return dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        m = _CN_DATE_LINE_RE.match(line)
        if m:
            return dt.date(cn_to_int(m.group("y")), cn_to_int(m.group("m")), cn_to_int(m.group("d")))
    except (TypeError, ValueError):
        return None
    return None


def _issuer_before(lines: list[str], at: int) -> str | None:
    found: list[str] = []
    for line in reversed(lines[max(0, at - 6) : at]):
        if not line:
            continue
        if _ISSUER_RE.search(line) and len(line) <= 40 and not re.search(r"[。,;:]", line):
            found.insert(0, line)
        else:
            break
    return " ".join(found) or None
