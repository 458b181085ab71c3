"""The 督办单 as a Word document (python-docx), laid out like an office's paper form: title, number, addressee,
the matter, the tasks, the reply date, issuer and date, and the receipt / reply block (filled in once the unit
has signed or replied)."""

from django.utils import timezone
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from departments.models import Unit, UnitKind
from tasks.lights import task_light

from .models import Notice

BODY_FONT = "仿宋_GB2312"
TITLE_FONT = "方正小标宋简体"


def _font(run, name: str, size: float, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _para(doc, text: str = "", *, size=16, bold=False, align=None, font=BODY_FONT, indent=False):
    p = doc.add_paragraph()
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    p.paragraph_format.space_after = Pt(4)
    if text:
        _font(p.add_run(text), font, size, bold)
    return p


def _date(d) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else "____年__月__日"


def issuer_name() -> str:
    unit = (
        Unit.objects.filter(kind=UnitKind.SECRETARIAT, deleted_at__isnull=True)
        .order_by("sort_order", "id")
        .first()
    )
    return unit.name if unit else "医改办"


def notice_docx(*, notice: Notice, tasks) -> Document:
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    style = doc.styles["Normal"]
    style.font.name = BODY_FONT
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)

    _para(doc, "督 办 单", size=26, align=WD_ALIGN_PARAGRAPH.CENTER, font=TITLE_FONT)
    _para(doc, notice.number, size=16, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, f"{notice.unit.name}：", size=16)
    for line in notice.text.splitlines() or [""]:
        if line.strip():
            _para(doc, line.strip(), indent=True)
    _para(doc, f"督办任务（共 {len(tasks)} 项）：", size=16, bold=True)

    today = timezone.localdate()
    table = doc.add_table(rows=1, cols=5)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, ["序号", "编号", "任务", "完成时限", "当前状态"], strict=True):
        cell.text = ""
        _font(cell.paragraphs[0].add_run(text), BODY_FONT, 12, True)
    for i, task in enumerate(tasks, 1):
        light = task_light(task, today=today)
        cells = table.add_row().cells
        values = [
            str(i),
            task.path_key,
            task.title,
            f"{task.deadline:%Y-%m-%d}" if task.deadline else "—",
            f"{light.label}：{light.reason}",
        ]
        for cell, text in zip(cells, values, strict=True):
            cell.text = ""
            _font(cell.paragraphs[0].add_run(text), BODY_FONT, 11)

    _para(doc)
    _para(
        doc,
        f"请于{_date(notice.reply_by)}前签收，并书面答复整改措施和预计完成时间。逾期未答复的，将报领导小组。",
        indent=True,
    )
    _para(doc)
    _para(doc, issuer_name(), align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(doc, _date(timezone.localtime(notice.issued_at).date()), align=WD_ALIGN_PARAGRAPH.RIGHT)

    _para(doc)
    signed = (
        f"签收人：{notice.signed_by or ''}    签收时间：{timezone.localtime(notice.signed_at):%Y-%m-%d %H:%M}"
        if notice.signed_at
        else "签收人：____________    签收时间：____________"
    )
    _para(doc, signed, size=14)
    if notice.replied_at:
        _para(doc, "整改措施：", size=14, bold=True)
        for line in notice.reply.splitlines():
            if line.strip():
                _para(doc, line.strip(), size=14, indent=True)
        _para(
            doc, f"预计完成时间：{_date(notice.expected_date)}    答复人：{notice.replied_by or ''}", size=14
        )
    else:
        _para(doc, "整改措施：", size=14, bold=True)
        for _ in range(4):
            _para(doc, "", size=14)
        _para(doc, "预计完成时间：____年__月__日    答复人：____________", size=14)
    return doc
