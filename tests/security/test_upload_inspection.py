"""One inspection for every zip-based upload: plan .docx files and attachments are refused before parsing when
they inflate too far, compress suspiciously well or declare XML entities; an oversize text is never echoed."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from departments.services import ApplicationError
from reform_ledger.uploads import UploadRejected, inspect_zip
from tasks.extraction.errors import ExtractionError
from tasks.extraction.reader import read_plan_file

CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)


def _docx(document_xml: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("word/document.xml", document_xml)
    return buf.getvalue()


def _xlsx(sheet_xml: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("xl/workbook.xml", b"<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return buf.getvalue()


def test_a_plan_docx_that_inflates_to_42_mb_is_refused_before_parsing():
    bomb = _docx(
        b"<w:document><w:body>"
        + b"<w:p><w:r><w:t>aaaa</w:t></w:r></w:p>" * 1_200_000
        + b"</w:body></w:document>"
    )
    assert len(bomb) < 400_000
    with pytest.raises(ExtractionError) as e:
        read_plan_file(bomb, "方案.docx")
    assert "解压后过大" in str(e.value) or "压缩比异常" in str(e.value)


def test_a_plan_docx_with_an_entity_declaration_is_refused():
    evil = _docx(b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><w:document>&a;</w:document>')
    with pytest.raises(ExtractionError) as e:
        read_plan_file(evil, "方案.docx")
    assert "XML 实体" in str(e.value)


def test_an_ordinary_docx_passes_the_inspection():
    import docx

    d = docx.Document()
    d.add_paragraph("一、加快推进分级诊疗（市卫生健康委负责）")
    buf = io.BytesIO()
    d.save(buf)
    inspect_zip(buf.getvalue(), kind="docx")
    assert "分级诊疗" in read_plan_file(buf.getvalue(), "方案.docx")


def test_a_docx_named_as_a_workbook_is_not_a_workbook():
    with pytest.raises(UploadRejected) as e:
        inspect_zip(_docx(b"<w:document/>"), kind="xlsx", name="台账")
    assert e.value.message == "台账不是 Excel 工作簿（.xlsx / .xls）。"


def test_an_xlsx_attachment_that_inflates_far_is_refused_with_its_name():
    from reports.attachments import attachment_check

    bomb = _xlsx(
        b"<worksheet><sheetData>" + b"<row><c><v>1</v></c></row>" * 5_000_000 + b"</sheetData></worksheet>"
    )
    f = SimpleUploadedFile("进展.xlsx", bomb)
    with pytest.raises(ApplicationError) as e:
        attachment_check(name="进展.xlsx", head=bomb[:8192], size=len(bomb), fileobj=f)
    assert "进展.xlsx" in e.value.message and ("过大" in e.value.message or "压缩比" in e.value.message)


@pytest.mark.django_db
def test_an_oversize_pasted_plan_is_refused_without_echoing_it_back(client_as, secretariat):
    text = "一、任务" + "某" * 400_000
    r = client_as(secretariat).post("/plans/extract/", {"text": text})
    assert r.status_code == 400
    body = r.content.decode()
    assert "文本过长" in body and "某" * 1000 not in body
