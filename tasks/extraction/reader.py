"""read_plan_file: the text of an uploaded plan (.txt in any common encoding, .docx, .pdf)."""

from __future__ import annotations

import io
import zipfile
from os import PathLike
from pathlib import Path

from reform_ledger.uploads import UploadRejected, inspect_zip

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
        raise ExtractionError("这是旧版 Office 文件（.doc / .xls），请另存为 .docx 或 .txt 后再上传；Excel 台账请用台账导入。")
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


def _read_docx(data: bytes) -> str:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data))
    lines: list[str] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(child, document).text)
        elif tag == "tbl":
            lines.extend(_table_lines(Table(child, document)))
            lines.append("")
    return "\n".join(lines)


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
            raise ExtractionError(f"PDF 页数过多（{len(reader.pages)} 页，上限 {MAX_PDF_PAGES} 页），请只上传方案正文。")
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
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                          (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
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
    bad = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f") or ch == "\ufffd" or 0xE000 <= ord(ch) <= 0xF8FF)
    return bad <= max(2, len(text) // 200)
