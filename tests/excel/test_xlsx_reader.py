"""tasks/xlsx_reader.py reads an .xlsx row by row and must give what python-calamine gives (tasks.excel._sheet_rows
over calamine's sheet): the same rows from A1, the same values and types, the same merged ranges. Compared on every
real workbook in the corpus, on workbooks openpyxl writes with every kind of value, and on hand-written XML for
what openpyxl never writes (shared rich text with phonetic runs, inline rich text, cells without a reference,
cached formula results, error cells, the 1904 date system, strict OOXML)."""

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine as pc

from tasks.excel import SpreadsheetError, _sheet_rows, read_sheets
from tasks.xlsx_reader import NotXlsx, read_xlsx

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.xlsx"))


def _calamine(data: bytes) -> list[tuple[str, list[list], list]]:
    wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    out = []
    for i, name in enumerate(wb.sheet_names):
        sheet = wb.get_sheet_by_index(i)
        out.append((name, _sheet_rows(sheet), sorted(sheet.merged_cell_ranges or [])))
    return out


def _streamed(data: bytes) -> list[tuple[str, list[list], list]]:
    return [(s.name, s.rows, sorted(s.merged)) for s in read_xlsx(io.BytesIO(data), max_sheets=20)]


def _assert_same(data: bytes) -> None:
    theirs, ours = _calamine(data), _streamed(data)
    assert [s[0] for s in ours] == [s[0] for s in theirs]
    for (name, rows, merged), (_n, their_rows, their_merged) in zip(ours, theirs, strict=True):
        assert merged == their_merged, name
        assert len(rows) == len(their_rows), name
        for i, (a, b) in enumerate(zip(rows, their_rows, strict=True)):
            assert [(type(v), v) for v in a] == [(type(v), v) for v in b], f"{name} row {i + 1}"


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_every_corpus_workbook_reads_as_calamine_reads_it(path):
    _assert_same(path.read_bytes())


def test_every_kind_of_value_openpyxl_writes():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    ws["B2"], ws["C2"], ws["D2"] = 1, 1.5, True
    ws["E2"], ws["F2"] = dt.date(2026, 6, 30), dt.datetime(2026, 6, 30, 13, 5)
    ws["G2"], ws["H2"], ws["I2"] = "=1/0", "文本\n换行", dt.time(8, 30)
    ws["J2"] = "a_x000D_b"
    for ref, fmt in [
        ("K2", "yyyy年m月d日"),
        ("L2", '[$-804]yyyy"年"m"月"'),
        ("M2", "0.00"),
        ("N2", "[Red]0.0"),
    ]:
        ws[ref] = 45000.25 if ref == "M2" else 45000
        ws[ref].number_format = fmt
    ws["O2"] = 45000
    ws["O2"].number_format = "h:mm"
    ws["D9"] = "最后一行"
    ws.merge_cells("A1:F1")
    ws.merge_cells("B4:B7")
    second = wb.create_sheet("空表")
    second.sheet_state = "hidden"
    third = wb.create_sheet("说明")
    third["C3"] = "只有一格"
    buf = io.BytesIO()
    wb.save(buf)
    _assert_same(buf.getvalue())


def _xlsx(
    sheet_xml: str,
    *,
    shared: str = "",
    workbook_pr: str = "",
    styles: str = "",
    ns: str = "",
    shared_name: str = "sharedStrings.xml",
) -> bytes:
    main = ns or "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = (
        "http://purl.oclc.org/ooxml/officeDocument/relationships"
        if ns
        else "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    )
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            + (
                f'<Override PartName="/xl/{shared_name}" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                if shared
                else ""
            )
            + (
                '<Override PartName="/xl/styles.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                if styles
                else ""
            )
            + "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">{workbook_pr}'
            '<sheets><sheet name="表一" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/>'
            + (
                '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                f'sharedStrings" Target="{shared_name}"/>'
                if shared
                else ""
            )
            + (
                '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                'styles" Target="styles.xml"/>'
                if styles
                else ""
            )
            + "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}">{sheet_xml}</worksheet>'
        ),
    }
    if shared:
        files[f"xl/{shared_name}"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}">{shared}</sst>'
        )
    if styles:
        files["xl/styles.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{main}">{styles}</styleSheet>'
        )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


STYLES = (
    '<numFmts count="1"><numFmt numFmtId="176" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/></numFmts>'
    '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="176"/><xf numFmtId="58"/></cellXfs>'
)


def test_hand_written_cells():
    shared = (
        "<si><t>市卫生健康委</t></si>"
        "<si><r><t>推进</t></r><r><rPr><b/></rPr><t>分级诊疗</t></r></si>"
        '<si><t>東京</t><rPh sb="0" eb="2"><t>トウキョウ</t></rPh></si>'
        '<si><t xml:space="preserve">  前后空格  </t></si>'
        "<si><t>回车_x000D_换行</t></si>"
    )
    sheet = (
        '<sheetData><row r="2"><c r="B2" t="s"><v>0</v></c><c r="C2" t="s"><v>1</v></c><c r="D2" t="s"><v>2</v></c>'
        '<c r="E2" t="s"><v>3</v></c><c r="F2" t="s"><v>4</v></c></row>'
        '<row r="3"><c t="inlineStr"><is><t>无引用</t></is></c><c><v>7</v></c>'
        '<c t="inlineStr"><is><r><t>富</t></r><r><t>文本</t></r></is></c></row>'
        '<row r="5"><c r="A5"><f>SUM(1,2)</f><v>3</v></c><c r="B5" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>'
        '<c r="C5" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="D5" t="b"><v>0</v></c><c r="E5" s="1"><v>45473</v></c>'
        '<c r="F5" s="2"><v>45473.5</v></c><c r="G5" s="3"><v>45000</v></c><c r="H5" s="1"/></row>'
        '<row r="7"><c r="J7" s="1"><v>0.25</v></c></row></sheetData>'
        '<mergeCells count="1"><mergeCell ref="B2:C3"/></mergeCells>'
    )
    _assert_same(_xlsx(sheet, shared=shared, styles=STYLES))


def test_the_1904_date_system():
    sheet = (
        '<sheetData><row r="1"><c r="A1" s="1"><v>45000</v></c><c r="B1"><v>45000</v></c></row></sheetData>'
    )
    data = _xlsx(sheet, workbook_pr='<workbookPr date1904="1"/>', styles=STYLES)
    _assert_same(data)
    assert read_xlsx(io.BytesIO(data), max_sheets=1)[0].rows[0][0] == dt.date(2027, 3, 16)


def test_strict_ooxml_namespaces():
    sheet = '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>严格格式</t></is></c></row></sheetData>'
    data = _xlsx(sheet, ns="http://purl.oclc.org/ooxml/spreadsheetml/main")
    assert read_xlsx(io.BytesIO(data), max_sheets=1)[0].rows == [["严格格式"]]


def _rows_by_calamine(data: bytes) -> list[list]:
    return _sheet_rows(pc.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0))


def _rows_streamed(data: bytes) -> list[list]:
    return read_xlsx(io.BytesIO(data), max_sheets=1)[0].rows


@pytest.mark.parametrize("read", [_rows_streamed, _rows_by_calamine], ids=["streamed", "calamine"])
def test_a_repeated_short_text_is_one_object(read):
    wb = openpyxl.Workbook()
    ws = wb.active
    for _ in range(3):
        ws.append(["市卫生健康委", "推进" * 40])
    buf = io.BytesIO()
    wb.save(buf)
    rows = read(buf.getvalue())
    assert rows[0][0] is rows[2][0]
    assert rows[0][1] == rows[2][1]


def test_a_zip_that_is_not_an_xlsx_goes_to_calamine():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(NotXlsx):
        read_xlsx(io.BytesIO(buf.getvalue()), max_sheets=1)


def test_damaged_sheet_xml_is_a_clear_error():
    data = _xlsx('<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>未闭合</is></c></row></sheetData>')
    with pytest.raises(SpreadsheetError) as e:
        read_sheets(data)
    assert "损坏" in e.value.message


def test_a_sheet_past_the_row_limit_stops_while_reading(settings):
    settings.IMPORT_MAX_ROWS = 5
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(1, 60))
    with pytest.raises(SpreadsheetError) as e:
        read_sheets(_xlsx(f"<sheetData>{rows}</sheetData>"))
    assert "行数超过上限" in e.value.message


def test_parts_are_found_where_the_workbook_says():
    sheet = '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row></sheetData>'
    shared = "<si><t>市财政局</t></si><si><t>2026年底前</t></si>"
    data = _xlsx(sheet, shared=shared, shared_name="strings1.xml")
    assert read_xlsx(io.BytesIO(data), max_sheets=1)[0].rows == [["市财政局", "2026年底前"]]
