"""Whole documents: interpretation texts, attachment tables, .docx/.pdf files, and inputs that are not plans."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tasks.extraction import ExtractionError, extract_plan, read_plan_file

from ._helpers import compare_with_gold, seed_gold, seed_resolver, seed_text

DATA = Path(__file__).resolve().parent / "data"


def test_interpretation_document_gives_measures_with_no_units():
    result = extract_plan((DATA / "jiedu-interpretation.txt").read_text(encoding="utf-8"), seed_resolver())
    assert result["has_attributions"] is False
    assert [t["path"] for t in result["tasks"]] == [
        ["二", "(一)", "1"],
        ["二", "(一)", "2"],
        ["二", "(二)", "1"],
        ["二", "(二)", "2"],
    ]
    for task in result["tasks"]:
        assert task["lead_units"] == [] and task["responsible_units"] == [] and task["unknown_units"] == []
        assert task["counties_involved"] is False
    assert result["tasks"][1]["targets"][0]["by"] == "2022-12-31"
    assert result["tasks"][2]["deadlines"] == [{"text": "2021年9月底前", "date": "2021-09-30"}]


def test_attachment_table_rows_become_tasks():
    result = extract_plan((DATA / "attachment-table.txt").read_text(encoding="utf-8"), seed_resolver())
    assert result["doc_number"] == "X卫〔2021〕12号"
    assert result["issued_on"] == "2021-03-15"
    tasks = result["tasks"]
    assert [t["path"] for t in tasks] == [
        ["附件", "一", "1"],
        ["附件", "一", "2"],
        ["附件", "二", "1"],
        ["附件", "二", "2"],
    ]
    first = tasks[0]
    assert first["title"] == "推进紧密型县域医共体建设"
    assert first["lead_units"] == ["市卫生健康委"]
    assert first["responsible_units"] == ["市医疗保障局", "市财政局"]
    assert first["counties_involved"] is True
    assert first["deadlines"] == [{"text": "2021年底前", "date": "2021-12-31"}]
    assert [(t["indicator"], t["op"], t["value"], t["by"]) for t in first["targets"]] == [
        ("县域就诊率", ">=", 90, "2021-12-31")
    ]
    assert tasks[1]["targets"][0]["op"] == ">=" and tasks[1]["targets"][0]["by"] == "2021-06-30"
    assert tasks[2]["deadlines"] == [{"text": "长期坚持", "date": None}]
    assert {"text": "15个工作日内", "date": None} in tasks[3]["deadlines"]
    assert tasks[3]["responsible_units"] == []


def _docx_bytes(
    paragraphs: list[str], table: list[list[str]] | None = None, merge_first_row: bool = False
) -> bytes:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
        if merge_first_row:
            grid.cell(1, 1).merge(grid.cell(1, len(table[0]) - 1))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_paragraphs_read_like_the_text_file():
    data = _docx_bytes(seed_text("pingdingshan-2020-plan").split("\n"))
    text = read_plan_file(data, filename="plan.docx")
    result = extract_plan(text, seed_resolver())
    assert compare_with_gold(result, seed_gold("pingdingshan-2020-plan")) == []


def test_docx_table_with_merged_section_row():
    table = [
        ["序号", "重点任务", "牵头单位", "责任单位", "完成时限"],
        ["一", "推进分级诊疗", "", "", ""],
        [
            "1",
            "建设紧密型医共体。2022年县域就诊率提高到90%以上。",
            "市卫健委",
            "市医保局、财政局",
            "2022年底",
        ],
        ["2", "完善医保支付。", "市医保局", "市卫健委", "2021年上半年"],
    ]
    data = _docx_bytes(["XX市医改重点任务分工方案", "附件1"], table, merge_first_row=True)
    result = extract_plan(read_plan_file(data, filename="tasks.docx"), seed_resolver())
    tasks = result["tasks"]
    assert [t["path"] for t in tasks] == [["附件1", "一", "1"], ["附件1", "一", "2"]]
    assert tasks[0]["lead_units"] == ["市卫生健康委"]
    assert tasks[0]["responsible_units"] == ["市医疗保障局", "市财政局"]
    assert tasks[0]["deadlines"] == [
        {"text": "2022年", "date": "2022-12-31"},
        {"text": "2022年底", "date": "2022-12-31"},
    ]
    assert tasks[1]["deadlines"] == [{"text": "2021年上半年", "date": "2021-06-30"}]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_text_files_in_common_encodings_are_read(tmp_path, encoding):
    path = tmp_path / "plan.txt"
    path.write_bytes(seed_text("shijiazhuang-2020h2-tasks").encode(encoding))
    text = read_plan_file(path)
    assert "市卫健委" in text
    assert len(extract_plan(text, seed_resolver())["tasks"]) == 40


def test_xlsx_bytes_are_refused_with_a_hint():
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active["A1"] = "序号"
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(ExtractionError) as info:
        read_plan_file(buffer.getvalue(), filename="ledger.xlsx")
    assert "Excel" in str(info.value)


def test_pdf_without_text_layer_is_refused():
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ExtractionError) as info:
        read_plan_file(buffer.getvalue(), filename="scan.pdf")
    assert "扫描件" in str(info.value)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n",
        bytes(range(256)) * 20,
        b"\x89PNG\r\n\x1a\n" + bytes(200),
        b"PK\x03\x04broken zip",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100),
    ],
    ids=["empty", "blank", "binary", "png", "broken-zip", "old-office"],
)
def test_unreadable_files_raise_extraction_error_only(data):
    with pytest.raises(ExtractionError):
        read_plan_file(data, filename="upload.bin")


def test_missing_file_raises_extraction_error(tmp_path):
    with pytest.raises(ExtractionError):
        read_plan_file(tmp_path / "nope.txt")


def test_novel_text_file_reads_but_has_no_tasks():
    novel = "第一章\n那是一个晴朗的早晨，他沿着河岸慢慢走着。\n河水静静地流淌。".encode()
    text = read_plan_file(novel, filename="novel.txt")
    with pytest.raises(ExtractionError):
        extract_plan(text, seed_resolver())
