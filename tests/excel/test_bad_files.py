"""Files that are not ledgers, or are built to hurt the server: a clear message, nothing written, bounded work."""

import io
import zipfile

import openpyxl
import pytest

from tasks.excel import SpreadsheetError
from tasks.ledger_import import ledger_import
from tasks.models import Task

from .conftest import office_workbook

DAMAGED = "文件已损坏或不完整（可能上传中断），无法读取。请重新保存后上传。"
ENCRYPTED = "文件已加密（设置了打开密码），请取消密码后再上传。"


def _message(data: bytes) -> str:
    with pytest.raises(SpreadsheetError) as info:
        ledger_import(data=data, dry_run=False)
    assert not Task.objects.exists()
    return info.value.message


def _rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, replace.get(item.filename, source.read(item.filename)))
        for name, content in replace.items():
            if name not in source.namelist():
                target.writestr(name, content)
    return out.getvalue()


def _good(small_ledger) -> bytes:
    return office_workbook(
        [["1.", "平办〔2020〕7号", "推进医共体建设", "", "市卫健委", "", "2022年底", "", ""]]
    )


def test_a_file_that_is_not_a_spreadsheet_is_refused(small_ledger):
    assert (
        _message("序号,重点任务\n1,任务".encode())
        == "文件不是 Excel 表格（只支持 .xlsx、.xls 和 WPS 表格 .et）。"
    )
    assert _message(b"%PDF-1.7 ...") == "文件不是 Excel 表格（只支持 .xlsx、.xls 和 WPS 表格 .et）。"


def test_a_word_document_is_not_an_excel_workbook(small_ledger):
    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    assert _message(buf.getvalue()) == "文件不是 Excel 工作簿（.xlsx / .xls）。"


def test_an_empty_file_is_refused(small_ledger):
    assert _message(b"") == "文件是空的。"


def test_an_encrypted_workbook_is_refused(small_ledger):
    msoffcrypto = pytest.importorskip("msoffcrypto")
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(_good(small_ledger))).encrypt("secret", out)
    assert msoffcrypto  # the encryption library is present
    assert _message(out.getvalue()) == ENCRYPTED


def test_a_truncated_file_is_refused(small_ledger):
    data = _good(small_ledger)
    assert _message(data[: len(data) // 2]) == DAMAGED
    assert _message(data[:-30]) == DAMAGED


def test_a_truncated_xls_is_refused(small_ledger):
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    assert _message(data) == DAMAGED


def test_a_zip_bomb_is_refused_before_it_is_inflated(small_ledger):
    bomb = b"<row/>" * (60 * 1024 * 1024 // 6)  # 60 MB of XML that deflates to ~60 KB
    data = _rezip(_good(small_ledger), {"xl/worksheets/sheet1.xml": bomb})
    assert len(data) < 1024 * 1024
    assert _message(data).startswith("文件压缩比异常（")


def test_a_file_inflating_beyond_the_limit_is_refused(small_ledger, settings):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 10 * 1024
    message = _message(_good(small_ledger))
    assert message.startswith("文件解压后过大（") and message.endswith(
        "KB，上限 10 KB），疑似压缩炸弹，拒绝读取。"
    )


def test_a_million_rows_is_refused_naming_the_limit(small_ledger, settings):
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>x</t></is></c></row>' for i in range(1, 1_000_001)
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{rows}</sheetData></worksheet>"
    ).encode()
    data = _rezip(_good(small_ledger), {"xl/worksheets/sheet1.xml": sheet})
    assert _message(data) == f"表格行数超过上限（最多 {settings.IMPORT_MAX_ROWS} 行），请拆分后分批导入。"


def test_too_many_columns_is_refused_naming_the_limit(small_ledger, settings):
    wb = openpyxl.load_workbook(io.BytesIO(_good(small_ledger)))
    wb.active.cell(row=3, column=settings.IMPORT_MAX_COLUMNS + 5, value="多余")
    buf = io.BytesIO()
    wb.save(buf)
    assert (
        _message(buf.getvalue())
        == f"表格列数超过上限（最多 {settings.IMPORT_MAX_COLUMNS} 列），请删除多余的列后再导入。"
    )


def test_a_cell_far_out_to_the_right_and_bottom_is_refused_before_reading(small_ledger, settings):
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>'
    )
    data = _rezip(_good(small_ledger), {"xl/worksheets/sheet1.xml": sheet})
    assert _message(data).startswith("表格")


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + ']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
).encode()


def _with_shared_string_bomb(small_ledger) -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "序号"
    buf = io.BytesIO()
    wb.save(buf)
    return _rezip(buf.getvalue(), {"xl/sharedStrings.xml": LAUGHS})


def test_xml_entity_tricks_are_refused(small_ledger):
    assert _message(_with_shared_string_bomb(small_ledger)) == (
        "文件包含 XML 实体或 DOCTYPE 声明，出于安全原因拒绝读取。请用 Excel、Word 或 WPS 另存后再上传。"
    )


def test_calamine_itself_does_not_expand_entities(small_ledger):
    """Defence in depth: even unchecked, the reader would not inflate a billion laughs."""
    import python_calamine as pc

    try:
        rows = (
            pc.CalamineWorkbook.from_filelike(io.BytesIO(_with_shared_string_bomb(small_ledger)))
            .get_sheet_by_index(0)
            .to_python()
        )
    except Exception:  # noqa: BLE001 - refusing the file is just as good
        return
    assert all(len(str(v)) < 1000 for row in rows for v in row)


def test_a_file_over_the_size_limit_is_refused_naming_the_limit(small_ledger, settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    import os

    data = _rezip(_good(small_ledger), {"xl/media/padding.bin": os.urandom(1_200_000)})
    assert _message(data) == f"文件过大（{len(data) / 1024 / 1024:.1f} MB），上限为 1 MB。"


def test_the_server_keeps_working_after_a_bad_file(small_ledger):
    _message(b"garbage")
    result = ledger_import(data=_good(small_ledger), dry_run=False)
    assert result.created == 1
