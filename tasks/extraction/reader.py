"""read_plan_file: the text of an uploaded plan (.txt in any common encoding, .docx, .doc/.wps through LibreOffice, .pdf)."""

from __future__ import annotations

import io
import re
import zipfile
from os import PathLike
from pathlib import Path

from reform_ledger.office import CONVERT_TIMEOUT, ConversionError, convert_with_libreoffice, soffice
from reform_ledger.uploads import UploadRejected, inspect_ole, inspect_zip

from .errors import ExtractionError

# A plan is at most a few hundred thousand characters (tasks.plan_import.MAX_PLAN_CHARS): its document.xml
# inflates to a few MB. Anything far bigger is refused before parsing (a 177 KB file inflating to 42 MB cost
# 11 s of CPU and 300 MB of memory before "文本过长").
MAX_DOCX_INFLATED = 30 * 1024 * 1024
MAX_PDF_PAGES = 500
MAX_TEXT_CHARS = 2_000_000  # reading stops here; the extractor's own limit (MAX_PLAN_CHARS) is lower

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_plan_file(path_or_bytes: str | PathLike | bytes | bytearray, filename: str | None = None) -> str:
    """Text of a plan file. Raises ExtractionError for empty, binary, spreadsheet or unreadable input."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data = bytes(path_or_bytes)
    else:
        path = Path(path_or_bytes)
        filename = filename or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ExtractionError(f"无法读取文件：{exc.strerror or exc}") from exc
    name = (filename or "").lower()
    if not data.strip():
        raise ExtractionError("文件为空，没有可提取的内容。")
    try:
        text = _read(data, name)
    except ExtractionError:
        raise
    except Exception as exc:  # malformed files: python-docx / pypdf raise many types
        raise ExtractionError(f"文件无法解析，可能已损坏：{type(exc).__name__}") from exc
    if not text.strip():
        raise ExtractionError("文件中没有可提取的文字。")
    return text


def _read(data: bytes, name: str) -> str:
    if data[:4] == b"PK\x03\x04":
        return _read_zip(data)
    if data[:8] == _OLE2:
        return _read_zip(_convert_to_docx(data, name))  # the converted file is inspected like an upload
    if data[:5] == b"%PDF-":
        return _read_pdf(data)
    if data[:5] == b"{\\rtf":
        raise ExtractionError("暂不支持 RTF 文件，请另存为 .docx 或 .txt 后再上传。")
    if name.endswith((".xlsx", ".xls", ".xlsm", ".et", ".csv")) and not name.endswith(".csv"):
        raise ExtractionError("这是 Excel 表格文件，请使用台账导入功能，而不是方案提取。")
    return _decode_text(data)


def _read_zip(data: bytes) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except zipfile.BadZipFile as exc:
        raise ExtractionError("压缩格式的文件已损坏，无法读取。") from exc
    if "xl/workbook.xml" in names or any(n.startswith("xl/") for n in names):
        raise ExtractionError("这是 Excel 表格文件，请使用台账导入功能，而不是方案提取。")
    if "word/document.xml" not in names:
        raise ExtractionError("无法识别的文件格式：只支持 .txt、.docx 和 .pdf。")
    try:  # sizes, ratio, entities before python-docx inflates anything
        inspect_zip(data, kind="docx", name="方案文件", limit=MAX_DOCX_INFLATED)
    except UploadRejected as exc:
        raise ExtractionError(exc.message) from None
    return _read_docx(data)


# ------------------------------------------------------------------ old Word / WPS files

# The name of the stream that holds a Word (or WPS Writer) document inside an OLE2 file, as UTF-16.
_WORD_STREAM = "WordDocument".encode("utf-16-le")


def _convert_to_docx(data: bytes, name: str) -> bytes:
    """.doc and .wps (OLE2) as .docx, through LibreOffice headless; a clear message when that cannot be done."""
    if _WORD_STREAM not in data:
        if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
            raise ExtractionError("这是旧版 Excel 文件（.xls / .et），请使用台账导入功能，而不是方案提取。")
        raise ExtractionError(
            "无法识别的旧版 Office 文件：只支持 Word（.doc）和 WPS 文字（.wps），请另存为 .docx 后再上传。"
        )
    kind = "WPS 文字（.wps）" if name.endswith(".wps") else "旧版 Word（.doc）"
    if soffice() is None:
        raise ExtractionError(
            f"这是{kind}文件，服务器未安装 LibreOffice，无法转换：请在 Word 或 WPS 中另存为 .docx 后再上传，"
            "或请管理员安装 LibreOffice Writer（Debian 软件包 libreoffice-writer-nogui）。"
        )
    try:  # encrypted or truncated files are refused before LibreOffice is asked
        inspect_ole(data, name="方案文件")
    except UploadRejected as exc:
        raise ExtractionError(exc.message) from None
    try:
        return convert_with_libreoffice(data, suffix=".wps" if name.endswith(".wps") else ".doc", to="docx")
    except ConversionError as exc:
        if exc.reason == "timeout":
            raise ExtractionError(
                f"{kind}文件转换超时（{CONVERT_TIMEOUT} 秒），请另存为 .docx 后再上传。"
            ) from None
        raise ExtractionError(
            f"{kind}文件无法转换（可能已损坏或加密），请在 Word 或 WPS 中另存为 .docx 后再上传。"
        ) from None


# ------------------------------------------------------------------ .docx


def _read_docx(data: bytes) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data))
    numbering = _ListNumbering(document)
    lines: list[str] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(child, document)
            text = paragraph.text
            label = numbering.label(paragraph) if text.strip() else ""
            lines.append(label + text if label else text)
        elif tag == "tbl":
            lines.extend(_table_lines(Table(child, document)))
            lines.append("")
    return "\n".join(lines)


_CN_DIGITS = "零一二三四五六七八九"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_TIANGAN = "甲乙丙丁戊己庚辛壬癸"


def _chinese_number(n: int) -> str:
    if n <= 0:
        return str(n)
    if n < 10:
        return _CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")
    return str(n)


def _roman(n: int) -> str:
    out = ""
    for value, letters in (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        while n >= value:
            out, n = out + letters, n - value
    return out


def _format_number(n: int, fmt: str) -> str:
    if fmt in (
        "chineseCounting",
        "chineseCountingThousand",
        "japaneseCounting",
        "chineseLegalSimplified",
        "ideographLegalTraditional",
        "taiwaneseCounting",
        "taiwaneseCountingThousand",
    ):
        return _chinese_number(n)
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese") and 1 <= n <= 20:
        return _CIRCLED[n - 1]
    if fmt == "ideographTraditional" and 1 <= n <= 10:
        return _TIANGAN[n - 1]
    if fmt in ("lowerLetter", "upperLetter") and n >= 1:
        letter = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter.upper() if fmt == "upperLetter" else letter
    if fmt in ("lowerRoman", "upperRoman") and n >= 1:
        return _roman(n).lower() if fmt == "lowerRoman" else _roman(n)
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "decimalEnclosedParen":
        return f"({n})"
    if fmt in ("none", "bullet"):
        return ""
    return str(n)


class _ListNumbering:
    """Word's automatic numbering (numbering.xml: 一、 (一) 1. (1)), as the reader sees it on the page.

    python-docx gives a paragraph's list (numId) and level (ilvl), directly or through its style; the level's
    number format and text (``%1、``, ``（%1）``) come from the abstract numbering behind the list. Counters run
    per abstract numbering, a level restarts when a level above it moves on, and a list that overrides its start
    restarts there."""

    def __init__(self, document):
        from docx.oxml.ns import qn

        self._qn = qn
        self.levels: dict[str, dict[int, dict]] = {}
        self.nums: dict[str, tuple[str, dict[int, int]]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        self.started: set[str] = set()
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        for abstract in root.findall(qn("w:abstractNum")):
            levels = {}
            for lvl in abstract.findall(qn("w:lvl")):
                levels[int(lvl.get(qn("w:ilvl"), "0"))] = {
                    "start": int(self._val(lvl, "w:start") or 1),
                    "fmt": self._val(lvl, "w:numFmt") or "decimal",
                    "text": self._val(lvl, "w:lvlText") or "",
                }
            self.levels[abstract.get(qn("w:abstractNumId"))] = levels
        for num in root.findall(qn("w:num")):
            abstract_id = self._val(num, "w:abstractNumId")
            overrides = {}
            for override in num.findall(qn("w:lvlOverride")):
                start = self._val(override, "w:startOverride")
                if start is not None:
                    overrides[int(override.get(qn("w:ilvl"), "0"))] = int(start)
            self.nums[num.get(qn("w:numId"))] = (abstract_id, overrides)

    def _val(self, element, tag: str) -> str | None:
        child = element.find(self._qn(tag))
        return None if child is None else child.get(self._qn("w:val"))

    def _num_pr(self, paragraph) -> tuple[str, int] | None:
        qn = self._qn
        candidates = [paragraph._p.pPr]
        style = paragraph.style
        while style is not None:
            candidates.append(style.element.pPr)
            style = style.base_style
        num_id = ilvl = None
        for ppr in candidates:
            num_pr = None if ppr is None else ppr.find(qn("w:numPr"))
            if num_pr is None:
                continue
            if num_id is None and num_pr.find(qn("w:numId")) is not None:
                num_id = num_pr.find(qn("w:numId")).get(qn("w:val"))
            if ilvl is None and num_pr.find(qn("w:ilvl")) is not None:
                ilvl = int(num_pr.find(qn("w:ilvl")).get(qn("w:val")))
            if num_id is not None and ilvl is not None:
                break
        if num_id is None or num_id == "0" or num_id not in self.nums:
            return None
        return num_id, ilvl or 0

    def label(self, paragraph) -> str:
        if not self.nums:
            return ""
        found = self._num_pr(paragraph)
        if found is None:
            return ""
        num_id, ilvl = found
        abstract_id, overrides = self.nums[num_id]
        levels = self.levels.get(abstract_id, {})
        if ilvl not in levels:
            return ""
        counters = self.counters.setdefault(abstract_id, {})
        if num_id not in self.started:
            self.started.add(num_id)
            for level, start in overrides.items():
                counters[level] = start - 1
        counters[ilvl] = counters.get(ilvl, levels[ilvl]["start"] - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        text = levels[ilvl]["text"]
        if levels[ilvl]["fmt"] == "bullet":
            return ""

        def number(m):
            level = int(m.group(1)) - 1
            if level not in levels:
                return ""
            value = counters.get(level, levels[level]["start"])
            return _format_number(value, levels[level]["fmt"])

        label = re.sub(r"%(\d)", number, text).strip()
        if label and label[-1].isalnum():
            label += " "  # 1 推进… : a number without its own punctuation still reads as a number
        return label


def _table_lines(table) -> list[str]:
    out = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            key = id(cell._tc)
            text = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
            # a cell merged across columns repeats: keep it once, keep the column count
            cells.append("" if key in seen else text.replace("|", "/"))
            seen.add(key)
        out.append(" | ".join(cells) + " |")
    return out


def _read_pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise ExtractionError(
                f"PDF 页数过多（{len(reader.pages)} 页，上限 {MAX_PDF_PAGES} 页），请只上传方案正文。"
            )
        parts, total = [], 0
        for page in reader.pages:
            part = page.extract_text() or ""
            parts.append(part)
            total += len(part)
            if total > MAX_TEXT_CHARS:
                raise ExtractionError(f"文件文字过长（超过 {MAX_TEXT_CHARS} 字），请只上传方案正文。")
        text = "\n".join(parts)
    except PdfReadError as exc:
        raise ExtractionError("PDF 文件无法读取，可能已损坏或加密。") from exc
    if not text.strip():
        raise ExtractionError("PDF 没有文字层（可能是扫描件），请提供可复制文字的版本。")
    return text


def _decode_text(data: bytes) -> str:
    for bom, encoding in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ExtractionError("文件编码无法识别。") from exc
    if data.count(b"\x00") > len(data) // 10:
        # UTF-16 without a BOM: every other byte of ASCII text is NUL
        for encoding in ("utf-16-le", "utf-16-be"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            if _looks_like_text(text):
                return text
        raise ExtractionError("这是二进制文件，不是文本格式的方案。")
    for encoding in ("utf-8", "gb18030", "big5"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text
    raise ExtractionError("文件不是可识别的文本（支持 UTF-8、GB18030/GBK、UTF-16），也不是 .docx 或 .pdf。")


def _looks_like_text(text: str) -> bool:
    if not text:
        return False
    bad = sum(
        1
        for ch in text
        if (ord(ch) < 32 and ch not in "\t\n\r\f") or ch == "\ufffd" or 0xE000 <= ord(ch) <= 0xF8FF
    )
    return bad <= max(2, len(text) // 200)
