"""Word files as offices have them: automatic list numbering (numbering.xml) and old .doc / .wps files."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest

from tasks.extraction import ExtractionError, extract_plan, read_plan_file

from ._helpers import seed_resolver

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

# The levels Chinese government documents use: 一、 → （一） → 1. → （1）
LEVELS = [
    ("chineseCounting", "%1、"),
    ("chineseCounting", "（%2）"),
    ("decimal", "%3."),
    ("decimal", "（%4）"),
]


def _numbered_docx(paragraphs: list[tuple[int | None, str]], *, restart_second_list: bool = False) -> bytes:
    """A .docx whose numbers exist only as Word list numbering: (level or None, text without its number)."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    numbering = document.part.numbering_part.element
    lvls = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/></w:lvl>'
        for i, (fmt, text) in enumerate(LEVELS)
    )
    abstract = parse_xml(f'<w:abstractNum xmlns:w="{W}" w:abstractNumId="90">{lvls}</w:abstractNum>')
    first_num = numbering.find(f"{{{W}}}num")
    if first_num is not None:
        first_num.addprevious(abstract)  # abstractNum elements come before num elements
    else:
        numbering.append(abstract)
    numbering.append(parse_xml(f'<w:num xmlns:w="{W}" w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    for level, text in paragraphs:
        paragraph = document.add_paragraph(text)
        if level is not None:
            ppr = paragraph._p.get_or_add_pPr()
            ppr.append(
                parse_xml(f'<w:numPr xmlns:w="{W}"><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>')
            )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


PLAN = [
    (None, "测试市人民政府办公室关于印发测试市2021年深化医改重点工作任务的通知"),
    (None, "测政办〔2021〕5号"),
    (0, "推进分级诊疗"),
    (1, "加强医共体建设"),
    (2, "推进紧密型县域医共体建设。2021年底前县域就诊率提高到90%以上。（市卫健委牵头，市医保局配合）"),
    (2, "完善家庭医生签约服务。（市卫健委负责）"),
    (3, "扩大签约覆盖面；"),
    (3, "提升签约服务质量。"),
    (1, "深化医保支付改革"),
    (2, "推行按病种分值付费。（市医保局负责）"),
    (0, "加强组织保障"),
    (1, "强化督导考核。（市医改办负责）"),
]


def test_word_list_numbering_is_read_and_gives_the_task_paths():
    text = read_plan_file(_numbered_docx(PLAN), filename="plan.docx")
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[2:6] == [
        "一、推进分级诊疗",
        "（一）加强医共体建设",
        "1.推进紧密型县域医共体建设。2021年底前县域就诊率提高到90%以上。（市卫健委牵头，市医保局配合）",
        "2.完善家庭医生签约服务。（市卫健委负责）",
    ]
    assert lines[6] == "（1）扩大签约覆盖面；"
    assert lines[8] == "（二）深化医保支付改革" and lines[9].startswith(
        "1.推行"
    )  # a level restarts under a new parent
    assert lines[10] == "二、加强组织保障" and lines[11].startswith("（一）强化")
    result = extract_plan(text, seed_resolver())
    assert result["doc_number"] == "测政办〔2021〕5号"
    assert [".".join(t["path"]) for t in result["tasks"]] == [
        "一.(一).1",
        "一.(一).2",
        "一.(二).1",
        "二.(一)",
    ]
    assert result["tasks"][0]["lead_units"] == ["市卫生健康委"]
    assert result["tasks"][0]["responsible_units"] == ["市医疗保障局"]
    assert "（2）提升签约服务质量" in result["tasks"][1]["text"].replace("(", "（").replace(")", "）")


def test_word_numbering_formats():
    from tasks.extraction.reader import _format_number

    assert [_format_number(n, "chineseCounting") for n in (1, 10, 11, 20, 23)] == [
        "一",
        "十",
        "十一",
        "二十",
        "二十三",
    ]
    assert _format_number(3, "decimalEnclosedCircle") == "③"
    assert _format_number(2, "ideographTraditional") == "乙"
    assert _format_number(4, "upperRoman") == "IV" and _format_number(28, "lowerLetter") == "bb"


def test_docx_without_list_numbering_reads_as_before():
    import docx

    document = docx.Document()
    document.add_paragraph("一、推进分级诊疗")
    document.add_paragraph("1.推进医共体建设。（市卫健委负责）")
    document.add_paragraph("• 要点", style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    lines = read_plan_file(buffer.getvalue(), filename="p.docx").splitlines()
    assert lines == ["一、推进分级诊疗", "1.推进医共体建设。（市卫健委负责）", "• 要点"]


def _soffice():
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice is not installed")
@pytest.mark.parametrize("suffix", [".doc", ".wps"])
def test_old_word_and_wps_files_are_converted_with_libreoffice(tmp_path, suffix):
    src = tmp_path / "plan.docx"
    src.write_bytes(_numbered_docx(PLAN))
    profile = (tmp_path / "profile").as_uri()
    subprocess.run(
        [
            _soffice(),
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "doc:MS Word 97",
            "--outdir",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = (tmp_path / "plan.doc").read_bytes()
    assert data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    result = extract_plan(read_plan_file(data, filename=f"方案{suffix}"), seed_resolver())
    assert result["doc_number"] == "测政办〔2021〕5号"
    assert [".".join(t["path"]) for t in result["tasks"]] == [
        "一.(一).1",
        "一.(一).2",
        "一.(二).1",
        "二.(一)",
    ]


def test_old_word_file_without_libreoffice_gives_a_clear_message(monkeypatch):
    from reform_ledger import office

    monkeypatch.setattr(office.shutil, "which", lambda name: None)
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64) + "WordDocument".encode("utf-16-le") + bytes(64)
    with pytest.raises(ExtractionError) as info:
        read_plan_file(data, filename="方案.wps")
    message = str(info.value)
    assert "WPS 文字（.wps）" in message and "未安装 LibreOffice" in message and "另存为 .docx" in message


def test_broken_old_word_file_is_refused_in_chinese():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64) + "WordDocument".encode("utf-16-le") + bytes(64)
    if _soffice() is None:
        pytest.skip("LibreOffice is not installed")
    with pytest.raises(ExtractionError) as info:
        read_plan_file(data, filename="坏文件.doc")
    assert "已损坏" in str(info.value)


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice is not installed")
def test_encrypted_word_file_is_refused_before_conversion():
    data = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(64)
        + "WordDocument".encode("utf-16-le")
        + "EncryptionInfo".encode("utf-16-le")
        + bytes(4096)
    )
    with pytest.raises(ExtractionError) as info:
        read_plan_file(data, filename="加密.doc")
    assert "加密" in str(info.value)


def test_old_excel_file_points_to_the_ledger_import():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64) + "Workbook".encode("utf-16-le") + bytes(64)
    with pytest.raises(ExtractionError) as info:
        read_plan_file(data, filename="台账.xls")
    assert "台账导入" in str(info.value)


def test_numbering_that_comes_from_the_paragraph_style_is_read():
    import docx

    document = docx.Document()
    document.add_paragraph("一、推进分级诊疗")
    document.add_paragraph("推进医共体建设。（市卫健委负责）", style="List Number")
    document.add_paragraph("加强家庭医生签约。（市卫健委负责）", style="List Number")
    buffer = io.BytesIO()
    document.save(buffer)
    text = read_plan_file(buffer.getvalue(), filename="p.docx")
    assert text.splitlines()[1:] == [
        "1.推进医共体建设。（市卫健委负责）",
        "2.加强家庭医生签约。（市卫健委负责）",
    ]
    assert [".".join(t["path"]) for t in extract_plan(text, seed_resolver())["tasks"]] == ["一.1", "一.2"]
