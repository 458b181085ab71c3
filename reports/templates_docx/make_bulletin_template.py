"""Writes the default 通报 template, bulletin.docx, next to this file: `python reports/templates_docx/make_bulletin_template.py`.

The office may replace bulletin.docx with its own (setting BULLETIN_TEMPLATE): any Word file with the same Jinja
tags (docxtpl: {{ … }}, {%p for … %} paragraph loops, {%tr for … %} table-row loops; names in reports/bulletin.py
`bulletin_context`). This script only makes the starting point: 红头, 期号, the six sections of a 督查通报.
"""

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

BODY_FONT, TITLE_FONT, HEADING_FONT = "仿宋_GB2312", "方正小标宋简体", "黑体"
RED = RGBColor(0xC0, 0x00, 0x00)


def font(run, name, size, bold=False, color=None):
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
    if color is not None:
        run.font.color.rgb = color
    return run


def para(
    doc, text="", *, name=BODY_FONT, size=16, align=None, bold=False, color=None, indent=True, space_after=0
):
    p = doc.add_paragraph()
    if align is not None:
        p.alignment = align
    if indent and align is None:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    p.paragraph_format.space_after = Pt(space_after)
    p.paragraph_format.line_spacing = Pt(28)
    if text:
        font(p.add_run(text), name, size, bold, color)
    return p


def red_rule(p):
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "18"), ("w:space", "1"), ("w:color", "C00000")):
        bottom.set(qn(k), v)
    borders.append(bottom)
    p._p.get_or_add_pPr().append(borders)


def table(doc, headers, cells, loop):
    t = doc.add_table(rows=4, cols=len(headers))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, h in enumerate(headers):
        c = t.rows[0].cells[i]
        c.text = ""
        font(c.paragraphs[0].add_run(h), HEADING_FONT, 10.5)
        c.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    t.rows[1].cells[0].text = "{%tr for " + loop + " %}"
    for i, v in enumerate(cells):
        c = t.rows[2].cells[i]
        c.text = ""
        font(c.paragraphs[0].add_run(v), BODY_FONT, 10.5)
    t.rows[3].cells[0].text = "{%tr endfor %}"
    # the header row repeats on every page
    tr_pr = t.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)
    return t


def loop_paragraphs(doc, loop, body, **kw):
    para(doc, "{%p for " + loop + " %}", indent=False)
    para(doc, body, **kw)
    para(doc, "{%p endfor %}", indent=False)


def build(path: Path) -> None:
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)

    para(doc, "{{ masthead }}", name=TITLE_FONT, size=26, align=WD_ALIGN_PARAGRAPH.CENTER, color=RED)
    para(doc, "{{ number_text }}", size=16, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=6)
    p = para(
        doc, "{{ issuer }}　　　　　　　　{{ issued_on_text }}", size=16, align=WD_ALIGN_PARAGRAPH.CENTER
    )
    red_rule(p)
    para(doc, "", indent=False)
    para(doc, "{{ title }}", name=TITLE_FONT, size=22, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=12)
    para(doc, "{{ addressees }}：", indent=False)
    para(doc, "{{ intro }}")

    para(doc, "一、总体情况", name=HEADING_FONT)
    para(doc, "{{ reports_sentence }}")
    para(doc, "{{ pace_sentence }}")

    para(doc, "二、各单位报送和推进情况", name=HEADING_FONT)
    para(doc, "{{ ranking_sentence }}")
    table(
        doc,
        ["排名", "单位", "任务数", "应报", "按时", "逾期", "未报", "按时报送率", "超期任务", "欠进度任务"],
        ["{{ r.rank }}", "{{ r.unit }}", "{{ r.tasks }}", "{{ r.reports_due }}", "{{ r.reports_on_time }}",
         "{{ r.reports_late }}", "{{ r.reports_missing }}", "{{ r.on_time_rate_text }}", "{{ r.overdue }}",
         "{{ r.behind }}"],
        "r in ranking",
    )  # fmt: skip

    para(doc, "三、未按时报送的单位", name=HEADING_FONT)
    para(doc, "{{ missing_sentence }}")
    para(doc, "{{ late_sentence }}")

    para(doc, "四、滞后和超期任务", name=HEADING_FONT)
    para(doc, "{{ lagging_sentence }}")
    table(
        doc,
        ["序号", "文件", "编号", "任务", "牵头单位", "情况"],
        [
            "{{ t.n }}",
            "{{ t.document }}",
            "{{ t.path }}",
            "{{ t.title }}",
            "{{ t.lead_units }}",
            "{{ t.reason }}",
        ],
        "t in lagging_tasks",
    )
    para(doc, "{{ lagging_more }}")

    para(doc, "五、经批准的延期事项", name=HEADING_FONT)
    para(doc, "{{ extensions_sentence }}")
    loop_paragraphs(doc, "e in extensions", "{{ e.n }}. {{ e.text }}")

    para(doc, "六、下一步工作要求", name=HEADING_FONT)
    loop_paragraphs(doc, "line in requirements", "{{ line }}")

    para(doc, "", indent=False)
    para(doc, "{{ issuer }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(doc, "{{ issued_on_text }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    doc.core_properties.title = "医改工作通报"
    doc.save(path)


if __name__ == "__main__":
    build(Path(__file__).with_name("bulletin.docx"))
