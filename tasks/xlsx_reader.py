"""Reading an .xlsx worksheet by streaming its XML: rows as python-calamine's `to_python` gives them, in a fraction
of the memory.

python-calamine loads a whole worksheet into Rust memory (every cell its own string) before Python sees a row: a
2.4 MB ledger of 40,000 rows peaked at 60 MB for the reading alone (bench/bench_upload_memory.py). Here the shared
strings are read once into a list, each sheet's rows are parsed one at a time (lxml's iterparse, which python-docx
already brings; each row's elements are dropped as soon as it is read), and every cell that repeats a shared string
holds that one string object. The values are those python-calamine gives (tests/test_xlsx_reader.py compares the
two on every workbook in the test fixtures): text as text, numbers as float, booleans, dates as `date`, date-times
as `datetime`, times as `time` (by the cell's number format, Excel's built-in and custom date formats), errors and
empty cells as "".

Only called on a file that passed `reform_ledger.uploads.inspect_zip` (sizes, ratio, entity declarations): the
XML parsed here declares no entities. Workbooks without `xl/workbook.xml` (.xlsb, .ods) go to python-calamine.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from collections.abc import Callable

from lxml import etree

CHUNK = 64 * 1024
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
# Excel's built-in number formats that show a date or time (ECMA-376 18.8.30, with the East Asian ids 27-36, 50-58)
_BUILTIN_DATE_FORMATS = set(range(14, 23)) | set(range(27, 37)) | {45, 46, 47} | set(range(50, 59))
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)


class NotXlsx(Exception):
    """The zip is not an .xlsx workbook this reader knows (.xlsb, .ods): python-calamine reads it."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse(stream, *, tag: str | None = None, events=("end",)):
    """Elements as lxml reads them; entities are never resolved and nothing is fetched."""
    return etree.iterparse(
        stream,
        events=events,
        tag=tag,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
    )


def _drop(el) -> None:
    """Free a read element and the siblings before it: memory stays one row deep."""
    el.clear()
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def _unescape(text: str) -> str:
    """Excel writes control characters as _xHHHH_ (a carriage return is _x000D_)."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _column(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _is_date_format(code: str) -> bool:
    if code.lower() == "general":
        return False
    bare = _FORMAT_NOISE.sub("", code.split(";", 1)[0])
    return any(ch in "dmyhsDMYHS" for ch in bare)


class _Book:
    def __init__(self, data):
        self.zip = zipfile.ZipFile(data)
        names = set(self.zip.namelist())
        if "xl/workbook.xml" not in names:
            raise NotXlsx()
        self.names = names
        self.date1904 = False
        self.sheets: list[tuple[str, str]] = []  # (name, member)
        rels, self.parts = self._relationships("xl/_rels/workbook.xml.rels")
        with self.zip.open("xl/workbook.xml") as f:
            for _event, el in _parse(f):
                tag = _local(el.tag)
                if tag == "workbookPr":
                    self.date1904 = el.get("date1904") in ("1", "true")
                elif tag == "sheet":
                    rid = el.get(f"{{{_REL_NS}}}id") or el.get(f"{{{_STRICT_REL_NS}}}id")
                    target = rels.get(rid)
                    if target:
                        self.sheets.append((el.get("name") or "", target))
        self.date_styles = self._date_styles()
        self.texts: dict[str, str] = {}  # short texts outside the shared strings (inline strings), held once
        self.shared = self._shared_strings()

    def _relationships(self, member: str) -> tuple[dict[str, str], dict[str, str]]:
        """({id: member}, {part type: member}): the sheets by id; the shared strings and styles by type, wherever
        the writer put them (the usual names when the workbook does not say)."""
        by_id: dict[str, str] = {}
        by_type = {"sharedStrings": "xl/sharedStrings.xml", "styles": "xl/styles.xml"}
        if member not in self.names:
            return by_id, by_type
        base = posixpath.dirname(posixpath.dirname(member))  # xl/_rels/x.rels -> xl
        with self.zip.open(member) as f:
            for _event, el in _parse(f):
                if _local(el.tag) == "Relationship" and el.get("Id") and el.get("Target"):
                    target = el.get("Target")
                    path = posixpath.normpath(
                        target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
                    )
                    by_id[el.get("Id")] = path
                    kind = (el.get("Type") or "").rsplit("/", 1)[-1]
                    if kind in by_type:
                        by_type[kind] = path
        return by_id, by_type

    def _date_styles(self) -> frozenset[int]:
        """Indexes of the cell formats (cellXfs) that show a number as a date or time."""
        member = self.parts["styles"]
        if member not in self.names:
            return frozenset()
        custom: dict[int, str] = {}
        formats: list[int] = []
        in_cell_xfs = False
        with self.zip.open(member) as f:
            for event, el in _parse(f, events=("start", "end")):
                tag = _local(el.tag)
                if tag == "cellXfs":
                    in_cell_xfs = event == "start"
                elif event == "end" and tag == "numFmt":
                    try:
                        custom[int(el.get("numFmtId", ""))] = el.get("formatCode") or ""
                    except ValueError:
                        pass
                elif event == "start" and tag == "xf" and in_cell_xfs:
                    try:
                        formats.append(int(el.get("numFmtId") or 0))
                    except ValueError:
                        formats.append(0)
        return frozenset(
            i
            for i, fmt in enumerate(formats)
            if (fmt in custom and _is_date_format(custom[fmt]))
            or (fmt not in custom and fmt in _BUILTIN_DATE_FORMATS)
        )

    def _shared_strings(self) -> list[str]:
        member = self.parts["sharedStrings"]
        if member not in self.names:
            return []
        out: list[str] = []
        seen: dict[str, str] = {}
        with self.zip.open(member) as f:
            for _event, el in _parse(f, tag="{*}si"):
                parts = []
                for child in el:  # <t>, or rich-text runs <r><t>; never the phonetic <rPh>
                    tag = _local(child.tag)
                    if tag == "t":
                        parts.append(child.text or "")
                    elif tag == "r":
                        parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
                text = _unescape("".join(parts))
                out.append(seen.setdefault(text, text))
                _drop(el)
        return out

    def value(self, v, kind: str | None, style: int):
        """A cell's value as python-calamine gives it, from the text of its <v> (an inline string: the cell)."""
        if kind == "s":
            try:
                return self.shared[int(v)]
            except (ValueError, IndexError):
                return ""
        if kind == "inlineStr":
            parts = []
            for child in v:
                if _local(child.tag) == "is":
                    for part in child:
                        tag = _local(part.tag)
                        if tag == "t":
                            parts.append(part.text or "")
                        elif tag == "r":
                            parts.extend(t.text or "" for t in part if _local(t.tag) == "t")
            return _unescape("".join(parts))
        if kind == "e":
            return ""
        if kind == "str":
            return _unescape(v)
        if kind == "b":
            return v.strip() in ("1", "true")
        if kind == "d":
            try:
                return dt.datetime.fromisoformat(v)
            except ValueError:
                return v
        try:
            number = float(v)
        except ValueError:
            return v
        if style in self.date_styles:
            return self._date(number)
        return number

    def _date(self, serial: float):
        epoch = _EPOCH_1904 if self.date1904 else _EPOCH_1900
        time_only = 0 <= serial < 1
        if not self.date1904 and serial < 61:
            serial += 1  # Excel's day 60 is 29 February 1900, which did not exist
        try:
            moment = epoch + dt.timedelta(days=serial)
        except OverflowError:
            return serial
        moment = moment.replace(microsecond=0) + dt.timedelta(seconds=round(moment.microsecond / 1e6))
        if time_only:
            return moment.time()
        if moment.time() == dt.time(0):
            return moment.date()
        return moment


class StreamedSheet:
    """One worksheet: its rows from A1 to the last cell with a value, every row as long as the widest."""

    def __init__(self, name: str, rows: list[list], merged: list):
        self.name, self.rows, self.merged = name, rows, merged


def read_xlsx(
    data, *, max_sheets: int, on_size: Callable[[int, int], None] | None = None
) -> list[StreamedSheet]:
    """The first `max_sheets` worksheets of an .xlsx (a file-like object). `on_size(rows, columns)` is called as a
    sheet grows, so that a limit stops the reading early (it raises)."""
    book = _Book(data)
    out = []
    for name, member in book.sheets[:max_sheets]:
        if member not in book.names:
            out.append(StreamedSheet(name, [], []))
            continue
        out.append(_read_sheet(book, name, member, on_size))
    return out


def _read_sheet(book: _Book, name: str, member: str, on_size) -> StreamedSheet:
    grid: list[list | None] = []  # row i, as long as its last cell; None for a row without any
    merged = []
    width = 0
    row_index = -1
    tags = None
    with book.zip.open(member) as f:
        for _event, el in _parse(f, tag=("{*}row", "{*}mergeCell")):
            if tags is None:
                ns = el.tag[: el.tag.index("}") + 1] if el.tag.startswith("{") else ""
                row_tag, tags = ns + "row", (ns + "c", ns + "v", ns + "is", ns + "t")
            if el.tag != row_tag:
                ends = [_CELL_REF.match(p) for p in (el.get("ref") or "").split(":")]
                if len(ends) == 2 and all(ends):
                    a, b = ends
                    merged.append(
                        (
                            (int(a.group(2)) - 1, _column(a.group(1))),
                            (int(b.group(2)) - 1, _column(b.group(1))),
                        )
                    )
                continue
            r = el.get("r")
            row_index = int(r) - 1 if r and r.isdigit() else row_index + 1
            _read_row(el, row_index, grid, book, tags)
            _drop(el)
            if grid and grid[-1] is not None and len(grid[-1]) > width:
                width = len(grid[-1])
            if on_size is not None and grid:
                on_size(len(grid), width)
    width = max((len(row) for row in grid if row is not None), default=0)
    for i, row in enumerate(grid):
        if row is None:
            grid[i] = [""] * width
        elif len(row) < width:
            row.extend([""] * (width - len(row)))
    return StreamedSheet(name, grid, merged)


_DIGITS = "0123456789"
# Cells up to this length are held once per distinct text: a ledger repeats its unit names, deadlines, statuses
# and 文号 on every row (one string object per cell took 53 MB instead of 20 MB for 40,000 rows).
SHARED_TEXT_MAX = 64
_COLUMNS: dict[str, int] = {}


def _read_row(el, row_index: int, grid: list, book: _Book, tags) -> None:
    """Put one <row>'s cells with a value into grid[row_index] (a cell without <v> or <is> is only formatting)."""
    c_tag, v_tag, is_tag, t_tag = tags
    cells = []
    col = -1
    columns, shared, value, texts = _COLUMNS, book.shared, book.value, book.texts
    for c in el:
        ref = c.get("r")
        if ref:
            letters = ref.rstrip(_DIGITS)
            col = columns.get(letters)
            if col is None:
                col = columns[letters] = _column(letters) if letters.isalpha() and letters.isupper() else -1
        else:
            col += 1
        count = len(c)
        if not count:  # formatting only
            continue
        # A cell is <f>?, <v>?, <is>?, <extLst>? in that order: the value is almost always the last child, and
        # indexing is the cheapest way through lxml (a 40,000-row sheet is read in about the time of parsing it).
        last_child = c[count - 1]
        tag = last_child.tag
        if tag == v_tag:
            text = last_child.text or ""
        elif tag == is_tag:
            inline = last_child
            if len(inline) == 1 and inline[0].tag == t_tag:
                text = inline[0].text or ""
            else:
                v = value(c, "inlineStr", 0)
                cells.append((col, v))
                continue
        else:
            text = c.findtext(v_tag)
            if text is None:
                if c.find(is_tag) is None or c.tag != c_tag:
                    continue
                cells.append((col, value(c, "inlineStr", 0)))
                continue
        kind = c.get("t")
        if kind == "s":
            try:
                v = shared[int(text)]
            except (ValueError, IndexError):
                v = ""
        elif kind == "inlineStr":
            v = _unescape(text)
            if len(v) <= SHARED_TEXT_MAX:
                v = texts.setdefault(v, v)
        else:
            st = c.get("s")
            v = value(text, kind, int(st) if st and st.isdigit() else 0)
            if v.__class__ is str and len(v) <= SHARED_TEXT_MAX:
                v = texts.setdefault(v, v)
        if col >= 0:
            cells.append((col, v))
    if not cells or row_index < 0:
        return
    while len(grid) <= row_index:
        grid.append(None)
    row = grid[row_index]
    last = max(col for col, _ in cells)
    if row is None:
        row = grid[row_index] = [""] * (last + 1)
    elif len(row) <= last:
        row.extend([""] * (last + 1 - len(row)))
    for col, v in cells:
        row[col] = v
