"""WPS 表格 .et files: the content decides how they are read (a BIFF8 compound file like .xls, or from newer WPS an
.xlsx zip with the zip checks); one python-calamine cannot read goes through LibreOffice (reform_ledger/office.py,
the converter the .doc/.wps plans use); anything else is refused in Chinese."""

import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from reform_ledger import office
from tasks import excel
from tasks.demo import load_demo_units
from tasks.excel import SpreadsheetError
from tasks.ledger_import import ledger_import
from tasks.models import Task

from .conftest import office_workbook

CORPUS = Path(__file__).parent / "corpus"
XLS = CORPUS / "shijiazhuang-2020h2-fengong.xls"
XLSX = CORPUS / "xuchang-2020-gzbg.xlsx"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A compound file with a Workbook stream name but nothing python-calamine can read (as some WPS files are to it).
UNREADABLE_ET = OLE + bytes(56) + "Workbook".encode("utf-16-le") + bytes(4096)


def _json(path: Path, *args) -> dict:
    out = io.StringIO()
    call_command("import_ledger", str(path), "--add-units", "--dry-run", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("source", [XLS, XLSX], ids=["xls-as-et", "xlsx-as-et"])
def test_an_et_file_reads_as_the_workbook_it_is(db, tmp_path, source):
    load_demo_units()
    renamed = tmp_path / "分工表.et"
    renamed.write_bytes(source.read_bytes())
    original = tmp_path / source.name
    original.write_bytes(source.read_bytes())
    preview = _json(renamed)
    assert preview["errors"] == [] and preview["summary"]["created"] > 0
    assert preview == _json(original)
    assert not Task.objects.exists()


def test_an_et_file_is_imported_through_the_page(db, secretariat, client_as):
    load_demo_units()
    client = client_as(secretariat)
    upload = io.BytesIO(XLS.read_bytes())
    upload.name = "石家庄分工表.et"
    page = client.post(reverse("tasks:import"), {"file": upload, "document": ""})
    assert page.status_code == 200, page.content.decode()[:500]
    result = page.context["result"]
    assert result.header is not None and result.converted is None  # read directly, nothing converted
    assert 'accept=".xlsx,.xls,.et"' in client.get(reverse("tasks:import")).content.decode()


def test_an_et_zip_gets_the_zip_checks(db):
    import zipfile

    data = office_workbook([["1.", "平办〔2020〕7号", "任务甲", "", "市卫健委", "", "2022年底", "", ""]])
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                content = content.replace(b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "b">]><worksheet', 1)
            target.writestr(item.filename, content)
    with pytest.raises(SpreadsheetError) as e:
        ledger_import(data=out.getvalue(), filename="a.et", dry_run=True)
    assert "XML 实体或 DOCTYPE" in e.value.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "序号,重点任务\n1,任务".encode("gb18030"),
            "文件不是 Excel 表格（只支持 .xlsx、.xls 和 WPS 表格 .et）。",
        ),
        (b"%PDF-1.7 ...", "文件不是 Excel 表格（只支持 .xlsx、.xls 和 WPS 表格 .et）。"),
        (
            OLE + bytes(56) + "WordDocument".encode("utf-16-le") + bytes(4096),
            "文件是Word 文档或 WPS 文字文件，不是表格（只支持 .xlsx、.xls 和 WPS 表格 .et）。",
        ),
    ],
    ids=["csv", "pdf", "wps-writer"],
)
def test_an_et_file_that_is_no_workbook_is_refused_in_chinese(db, tmp_path, data, message):
    path = tmp_path / "分工表.et"
    path.write_bytes(data)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_ledger", str(path), stdout=io.StringIO(), stderr=err)
    assert err.getvalue().strip() == f"row 0, column -: {message}"
    assert not Task.objects.exists()


def test_an_unreadable_et_without_libreoffice_says_what_to_do(db, monkeypatch):
    monkeypatch.setattr(office.shutil, "which", lambda name: None)
    with pytest.raises(SpreadsheetError) as e:
        ledger_import(data=UNREADABLE_ET, filename="分工表.et", dry_run=True)
    assert e.value.message.startswith(
        "这个WPS 表格文件（.et）无法直接读取，服务器也没有安装用来转换的 LibreOffice"
    )
    assert "另存为 .xlsx" in e.value.message
    # An .xls that cannot be read is a damaged file, as before.
    with pytest.raises(SpreadsheetError) as e:
        ledger_import(data=UNREADABLE_ET, filename="台账.xls", dry_run=True)
    assert e.value.message == excel.DAMAGED


def _fake_libreoffice(monkeypatch, result: bytes | Exception):
    calls = []

    def convert(data, *, suffix, to, timeout=office.CONVERT_TIMEOUT, infilter=None):
        calls.append((data, suffix, to))
        assert infilter == "MS Excel 97"  # never LibreOffice's guess: it reads any bytes as a text sheet
        if isinstance(result, Exception):
            raise result
        return result

    monkeypatch.setattr(excel, "convert_with_libreoffice", convert)
    return calls


def test_an_et_calamine_cannot_read_is_converted_once_and_imported(db, secretariat, client_as, monkeypatch):
    load_demo_units()
    converted = XLSX.read_bytes()
    calls = _fake_libreoffice(monkeypatch, converted)
    client = client_as(secretariat)
    upload = io.BytesIO(UNREADABLE_ET)
    upload.name = "分工表.et"
    page = client.post(reverse("tasks:import"), {"file": upload})
    assert page.status_code == 200
    assert calls == [(UNREADABLE_ET, ".xls", "xlsx")]
    result = page.context["result"]
    assert result.converted == converted and result.header.sheet == "任务分解"
    token = page.context["token"]
    # Unknown unit names are created for the test; the preview and confirm read the stored .xlsx, no new conversion.
    form = {"token": token, "unit_count": str(len(result.unknown_units))}
    for i, name in enumerate(result.unknown_units):
        form |= {f"unit_name_{i}": name, f"unit_choice_{i}": "new:department"}
    page = client.post(reverse("tasks:import-preview"), form)
    assert page.context["result"].errors == []
    response = client.post(reverse("tasks:import-confirm"), {"token": token})
    assert response.status_code == 302
    assert Task.objects.count() == 2 and len(calls) == 1


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("timeout", "WPS 表格文件（.et）转换超时（90 秒），请在 Excel 或 WPS 表格中另存为 .xlsx 后再上传。"),
        ("failed", "WPS 表格文件（.et）无法读取，用 LibreOffice 转换也失败了（文件可能已损坏）"),
    ],
)
def test_a_failed_conversion_says_what_to_do(db, monkeypatch, reason, message):
    _fake_libreoffice(monkeypatch, office.ConversionError(reason))
    with pytest.raises(SpreadsheetError) as e:
        ledger_import(data=UNREADABLE_ET, filename="分工表.et", dry_run=False)
    assert e.value.message.startswith(message)
    assert not Task.objects.exists()


def test_what_libreoffice_makes_is_checked_like_an_upload(db, monkeypatch):
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", b"<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<!DOCTYPE x><worksheet/>")
    _fake_libreoffice(monkeypatch, out.getvalue())
    with pytest.raises(SpreadsheetError) as e:
        ledger_import(data=UNREADABLE_ET, filename="分工表.et", dry_run=True)
    assert "XML 实体或 DOCTYPE" in e.value.message


@pytest.mark.skipif(office.soffice() is None, reason="LibreOffice is not installed")
def test_libreoffice_converts_an_old_workbook_to_what_calamine_reads_the_same(db):
    load_demo_units()
    data = XLS.read_bytes()
    converted = office.convert_with_libreoffice(data, suffix=".xls", to="xlsx")
    assert converted[:4] == b"PK\x03\x04"
    same = ledger_import(data=converted, add_units=True, doc_number="测试〔2024〕1号").as_json()
    assert same == ledger_import(data=data, add_units=True, doc_number="测试〔2024〕1号").as_json()


@pytest.mark.skipif(office.soffice() is None, reason="LibreOffice is not installed")
def test_a_damaged_et_through_libreoffice_is_refused_in_chinese(db):
    with pytest.raises(SpreadsheetError) as e:
        ledger_import(data=UNREADABLE_ET, filename="分工表.et", dry_run=True)
    assert e.value.message.startswith("WPS 表格文件（.et）")


def test_libreoffice_missing_is_reported_by_the_converter(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(office.ConversionError) as e:
        office.convert_with_libreoffice(b"x", suffix=".xls", to="xlsx")
    assert e.value.reason == "missing"
