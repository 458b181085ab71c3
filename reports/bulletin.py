"""The quarterly 通报 (督查通报) of a period, as Word, from an office-editable template.

- `bulletin_figures` (selector): every number in it, read from the roll-ups (the department and county roll-ups'
  totals, the dashboard's 序时进度 counts, the lights), as JSON-ready values. Issuing stores this snapshot.
- `bulletin_context` / `bulletin_render`: those figures phrased as a 督查通报 and filled into the template
  (docxtpl; `settings.BULLETIN_TEMPLATE`, default reports/templates_docx/bulletin.docx).
- `bulletin_save_draft`, `bulletin_issue` (services): the secretariat's draft (title, issuer, date, 下一步工作要求)
  and issuing: numbered 第N期 within the year of issue, stored with its file and figures, sent to every unit's and
  leader's inbox, never changed again.

All figures are "as of" the day the 通报 is written (lights and 序时进度 depend on the day), like the roll-up pages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from departments.models import Role, User
from departments.permissions import has
from departments.services import ApplicationError, ConflictError, audit_log
from tasks.lights import light_q
from tasks.models import ExtensionRequest, Light
from tasks.pace import Pace, pace_q
from tasks.selectors import tasks_visible_to

from .dashboard_lists import LIST_ORDER_SQL, PACE_COLUMNS, _task_items
from .models import Bulletin, Notification, Period, Report, ReportStatus
from .rollups import rollup_by_county, rollup_by_department

DEFAULT_TEMPLATE = Path(__file__).resolve().parent / "templates_docx" / "bulletin.docx"
LIST_LIMIT = 200  # tasks listed by name in section 四; the rest are counted ("另有 N 项")
PACE_ORDER = (Pace.COMPLETED, Pace.AHEAD, Pace.ON_PACE, Pace.BEHIND, Pace.NOT_STARTED, Pace.UNKNOWN)


def _reader() -> User:
    """The audience of a 通报: everyone (like the leaders' view of the whole ledger). Not saved."""
    return User(role=Role.LEADER, is_active=True)


def _rate(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "—"


def bulletin_figures(*, period: Period, today: dt.date) -> dict:
    """Every figure of the 通报 for `period`, on `today`. Refuses a period nobody has reported for yet."""
    submitted = Report.objects.filter(
        period=period, status__in=[ReportStatus.SUBMITTED, ReportStatus.ACCEPTED]
    )
    if not submitted.exists():
        raise ApplicationError(
            f"{period.label}还没有任何单位提交进展报告（报送截止日 {period.due_date:%Y-%m-%d}），无法生成通报。",
            field="period",
        )
    reader = _reader()
    rows = rollup_by_department(period=period, today=today, user=reader).rows
    rows += rollup_by_county(period=period, today=today, user=reader).rows
    rows = [r for r in rows if r.tasks]
    reports = {
        "due": sum(r.reports_due for r in rows),
        "on_time": sum(r.reports_on_time for r in rows),
        "late": sum(r.reports_late for r in rows),
        "missing": sum(r.reports_missing for r in rows),
    }
    tasks = tasks_visible_to(user=reader).order_by()
    counts = tasks.aggregate(
        total=Count("id"),
        documents=Count("document_id", distinct=True),
        overdue=Count("id", filter=light_q(Light.OVERDUE, today=today)),
        **{p: Count("id", filter=pace_q(p, today=today)) for p in Pace.ALL},
    )
    ranking = sorted(
        rows,
        key=lambda r: (
            -(r.on_time_rate if r.on_time_rate is not None else 1.0),
            r.overdue,
            r.pace_behind,
            r.kind,
            r.unit,
        ),
    )
    # 四: the overdue tasks (red), then those 欠进度 but not yet overdue, each with its lead units and reason
    columns = (
        "id",
        "document__doc_number",
        "document__title",
        "path_key",
        "title",
        "status",
        "open_due",
        *PACE_COLUMNS,
    )
    overdue_q = light_q(Light.OVERDUE, today=today)
    behind_q = pace_q(Pace.BEHIND, today=today) & ~overdue_q
    overdue_rows = list(tasks.filter(overdue_q).order_by(*LIST_ORDER_SQL).values(*columns)[:LIST_LIMIT])
    behind_rows = list(tasks.filter(behind_q).order_by(*LIST_ORDER_SQL).values(*columns)[:LIST_LIMIT])
    behind_only = tasks.filter(behind_q).count()
    overdue_items, behind_items = _task_items([overdue_rows, behind_rows], today=today)

    def item(t, kind):
        return {
            "kind": kind,
            "document": t.document,
            "path": t.path_key,
            "title": t.title,
            "lead_units": t.lead_units,
            "reason": t.light_reason,
        }

    return {
        "period": {
            "id": period.pk,
            "label": period.label,
            "year": period.year,
            "quarter": period.quarter,
            "due_date": period.due_date.isoformat(),
        },  # fmt: skip
        "as_of": today.isoformat(),
        "reports": reports,
        "units": len(rows),
        "tasks": {
            "total": counts["total"],
            "documents": counts["documents"],
            "overdue": counts["overdue"],
            **{p: counts[p] for p in Pace.ALL},
        },  # fmt: skip
        "ranking": [
            {
                "rank": i,
                "unit_id": r.unit_id,
                "unit": r.unit,
                "kind": r.kind,
                "tasks": r.tasks,
                "reports_due": r.reports_due,
                "reports_on_time": r.reports_on_time,
                "reports_late": r.reports_late,
                "reports_missing": r.reports_missing,
                "overdue": r.overdue,
                "behind": r.pace_behind,
            }
            for i, r in enumerate(ranking, 1)
        ],
        # units that owe reports and filed none at all, then those that filed only part
        "not_reported": [r.unit for r in rows if r.reports_missing and r.reports_missing == r.reports_due],
        "partly_reported": [
            {"unit": r.unit, "missing": r.reports_missing, "due": r.reports_due}
            for r in rows
            if r.reports_missing and r.reports_missing < r.reports_due
        ],
        "late": [{"unit": r.unit, "late": r.reports_late} for r in rows if r.reports_late],
        "lagging": [item(t, "overdue") for t in overdue_items] + [item(t, "behind") for t in behind_items],
        "lagging_more": max(0, counts["overdue"] - len(overdue_items))
        + max(0, behind_only - len(behind_items)),
        "behind_not_overdue": behind_only,
        "extensions": extensions_approved(period=period),
    }


def extensions_approved(*, period: Period) -> list[dict]:
    """延期申请 (tasks.models.ExtensionRequest) approved from the quarter's first day to the later of its last day
    and its report due date."""
    until = dt.datetime.combine(
        max(period.end_date, period.due_date), dt.time.max, tzinfo=timezone.get_current_timezone()
    )
    start = dt.datetime.combine(period.start_date, dt.time.min, tzinfo=timezone.get_current_timezone())
    rows = (
        ExtensionRequest.objects.filter(status="approved", decided_at__gte=start, decided_at__lte=until)
        .select_related("task__document", "unit")
        .order_by("decided_at", "pk")
    )
    return [
        {
            "document": r.task.document.doc_number or r.task.document.title,
            "path": r.task.path_key,
            "title": r.task.title,
            "unit": r.unit.name if r.unit_id else "",
            "milestone_date": r.milestone_date.isoformat() if r.milestone_date else "",
            "new_date": r.new_date.isoformat(),
            "reason": r.reason,
        }
        for r in rows
    ]


# --- wording -----------------------------------------------------------------------------------------------------


def _date_text(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else "　　年　　月　　日"


def _names(names: list[str]) -> str:
    return "、".join(names)


def bulletin_context(*, figures: dict, title: str, issuer: str, issued_on: dt.date | None, number_text: str,
                     requirements: str) -> dict:  # fmt: skip
    """The template's variables: the figures phrased as a 督查通报 says them."""
    period = figures["period"]["label"]
    r, t = figures["reports"], figures["tasks"]
    total = t["total"]
    reports_sentence = (
        f"{period}，{figures['units']}个责任单位应报送任务进展报告{r['due']}份，按时报送{r['on_time']}份，"
        f"按时报送率{_rate(r['on_time'], r['due'])}；逾期报送{r['late']}份；未报送{r['missing']}份，"
        f"占{_rate(r['missing'], r['due'])}。"
    )
    parts = [f"已完成{t[Pace.COMPLETED]}项，占{_rate(t[Pace.COMPLETED], total)}"]
    for p, word in ((Pace.AHEAD, "超进度"), (Pace.ON_PACE, "达进度"), (Pace.BEHIND, "欠进度")):
        parts.append(f"{word}{t[p]}项，占{_rate(t[p], total)}")
    tail = []
    if t[Pace.NOT_STARTED]:
        tail.append(f"尚未到启动时间{t[Pace.NOT_STARTED]}项")
    if t[Pace.UNKNOWN]:
        tail.append(f"缺少填报数据、无法判断序时进度{t[Pace.UNKNOWN]}项")
    pace_sentence = (
        f"按序时进度，{t['documents']}个文件的{total}项重点任务中，{'；'.join(parts)}"
        + (f"；另有{'，'.join(tail)}" if tail else "")
        + f"。已超过完成时限仍未完成的{t['overdue']}项。"
    )
    ranking = [
        {
            **row,
            "on_time_rate_text": _rate(row["reports_on_time"], row["reports_due"]),
        }
        for row in figures["ranking"]
    ]
    not_reported, partly = figures["not_reported"], figures["partly_reported"]
    if not_reported or partly:
        bits = []
        if not_reported:
            bits.append(f"{len(not_reported)}个单位本季度未报送任何进展报告：{_names(not_reported)}")
        if partly:
            bits.append(
                f"{len(partly)}个单位未报送部分任务："
                + _names([f"{p['unit']}（缺{p['missing']}项/应报{p['due']}项）" for p in partly])
            )
        missing_sentence = "截至通报时，" + "；".join(bits) + "。"
    else:
        missing_sentence = "本季度各单位均已报送进展报告。"
    late = figures["late"]
    late_sentence = (
        "逾期报送的单位：" + _names([f"{x['unit']}（{x['late']}份）" for x in late]) + "。"
        if late
        else "本季度无逾期报送的单位。"
    )
    lagging = figures["lagging"]
    lagging_sentence = (
        f"已超过完成时限仍未完成的任务{t['overdue']}项，未到时限但欠进度的任务{figures['behind_not_overdue']}项"
        + ("，列表如下（超期任务在前）：" if lagging else "。")
    )
    rows = [
        {
            "n": i,
            "document": x["document"],
            "path": x["path"],
            "title": x["title"],
            "lead_units": "、".join(x["lead_units"]),
            "reason": ("【超期】" if x["kind"] == "overdue" else "【欠进度】") + x["reason"],
        }
        for i, x in enumerate(lagging, 1)
    ]
    more = figures["lagging_more"]
    lagging_more = f"另有{more}项未列出（每类最多列出{LIST_LIMIT}项），详见系统台账。" if more else ""
    extensions = [
        {
            "n": i,
            "text": f"{e['document']} {e['path']}“{e['title']}”（{e['unit']}）："
            f"原定 {e['milestone_date']}，经批准延期至 {e['new_date']}。理由：{e['reason']}",
        }
        for i, e in enumerate(figures["extensions"], 1)
    ]
    extensions_sentence = (
        f"本期经批准的延期事项{len(extensions)}项：" if extensions else "本期无经批准的延期事项。"
    )
    lines = [line.strip() for line in (requirements or "").splitlines() if line.strip()]
    return {
        "masthead": "医改工作通报",
        "number_text": number_text,
        "issuer": issuer,
        "issued_on_text": _date_text(issued_on),
        "title": title,
        "addressees": "各县（市、区）医改办，市医改领导小组各成员单位",
        "intro": f"现将{period}深化医改重点工作任务推进情况通报如下（数据截至{figures['as_of']}）。",
        "reports_sentence": reports_sentence,
        "pace_sentence": pace_sentence,
        "ranking_sentence": "按报送及时率排名（并列时超期、欠进度任务少者在前）：",
        "ranking": ranking,
        "missing_sentence": missing_sentence,
        "late_sentence": late_sentence,
        "lagging_sentence": lagging_sentence,
        "lagging_tasks": rows,
        "lagging_more": lagging_more,
        "extensions_sentence": extensions_sentence,
        "extensions": extensions,
        "requirements": lines or ["（待医改办填写）"],
    }


def bulletin_template_path() -> Path:
    return Path(getattr(settings, "BULLETIN_TEMPLATE", "") or DEFAULT_TEMPLATE)


def bulletin_render(*, context: dict, template: Path | None = None) -> bytes:
    """Fill the Word template; a broken template answers with a Chinese message naming the file."""
    from docxtpl import DocxTemplate
    from jinja2 import TemplateError

    path = template or bulletin_template_path()
    if not path.is_file():
        raise ApplicationError(
            f"通报模板文件“{path}”不存在，请检查设置 BULLETIN_TEMPLATE。", field="template"
        )
    try:
        doc = DocxTemplate(str(path))
        doc.render(context, autoescape=True)
    except TemplateError as e:
        raise ApplicationError(f"通报模板“{path.name}”有误：{e}", field="template") from None
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# --- drafts and issuing --------------------------------------------------------------------------------------


def default_title(period: Period) -> str:
    return f"关于{period.label.replace('（年度）', '')}深化医改重点工作任务推进情况的通报"


def bulletin_for(*, period: Period) -> Bulletin:
    """The period's 通报 (unsaved with defaults when the secretariat has not written anything yet)."""
    existing = Bulletin.objects.filter(period=period).first()
    if existing is not None:
        return existing
    return Bulletin(
        period=period,
        title=default_title(period),
        issuer=getattr(settings, "BULLETIN_ISSUER", "") or "市深化医药卫生体制改革领导小组办公室",
    )


def _number_text(b: Bulletin) -> str:
    return f"第{b.number}期" if b.number else "第　期（草稿，印发时编号）"


def bulletin_document(
    *, bulletin: Bulletin, today: dt.date, figures: dict | None = None
) -> tuple[bytes, dict]:
    """(the .docx, its figures) for a draft; an issued 通报 is its stored file, never rendered again."""
    if bulletin.is_issued:
        with bulletin.file.open("rb") as f:
            return f.read(), bulletin.figures
    figures = figures or bulletin_figures(period=bulletin.period, today=today)
    context = bulletin_context(
        figures=figures, title=bulletin.title, issuer=bulletin.issuer, issued_on=bulletin.issued_on or today,
        number_text=_number_text(bulletin), requirements=bulletin.requirements,
    )  # fmt: skip
    return bulletin_render(context=context), figures


def _clean_text(value, *, label: str, field: str, max_length: int, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ApplicationError(f"{label}不能为空。", field=field)
    if len(text) > max_length:
        raise ApplicationError(f"{label}最多 {max_length} 个字，现有 {len(text)} 个字。", field=field)
    return text


def bulletin_save_draft(*, period: Period, title, issuer, requirements, issued_on=None, actor) -> Bulletin:
    """Save the secretariat's draft of a period's 通报. An issued one cannot change."""
    try:
        with transaction.atomic():
            return _save_draft(
                period=period,
                title=title,
                issuer=issuer,
                requirements=requirements,
                issued_on=issued_on,
                actor=actor,
            )
    except IntegrityError:  # two first drafts of one period at once: the other one was saved
        raise ConflictError("另一位同事刚刚保存了这期通报的草稿，请刷新页面后再修改。") from None


def _save_draft(*, period: Period, title, issuer, requirements, issued_on, actor) -> Bulletin:
    bulletin = Bulletin.objects.select_for_update().filter(period=period).first() or bulletin_for(
        period=period
    )
    if bulletin.is_issued:
        raise ConflictError(f"{period.label}的通报已印发（{bulletin.number_label}），不能再修改。")
    if issued_on not in (None, "") and not isinstance(issued_on, dt.date):
        try:
            issued_on = dt.date.fromisoformat(str(issued_on).strip())
        except ValueError:
            raise ApplicationError(
                f"印发日期“{issued_on}”无效，应为 YYYY-MM-DD 格式，例如 2026-10-15。", field="issued_on"
            ) from None
    old = {"title": bulletin.title, "issuer": bulletin.issuer, "requirements": bulletin.requirements,
           "issued_on": bulletin.issued_on}  # fmt: skip
    bulletin.title = _clean_text(title, label="通报标题", field="title", max_length=200)
    bulletin.issuer = _clean_text(issuer, label="印发单位", field="issuer", max_length=200)
    bulletin.requirements = _clean_text(
        requirements, label="下一步工作要求", field="requirements", max_length=20000, required=False
    )
    bulletin.issued_on = issued_on or None
    bulletin.updated_by = actor
    bulletin.full_clean(validate_unique=False, validate_constraints=False)
    bulletin.save()
    new = {"title": bulletin.title, "issuer": bulletin.issuer, "requirements": bulletin.requirements,
           "issued_on": bulletin.issued_on}  # fmt: skip
    changes = {k: [str(old[k] or ""), str(new[k] or "")] for k in new if old[k] != new[k]}
    if changes:
        audit_log(actor=actor, action="bulletin_draft", obj=bulletin, changes=changes)
    return bulletin


def bulletin_issue(*, period: Period, actor, now: dt.datetime | None = None) -> Bulletin:
    """Number (第N期 in the year of issue), render, store and send the period's 通报. Once per period."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    try:
        with transaction.atomic():
            return _issue(period=period, actor=actor, now=now, today=today)
    except IntegrityError:
        raise ConflictError("另一位同事刚刚印发了通报，期号已被占用，请刷新页面后查看。") from None


def _issue(*, period: Period, actor, now: dt.datetime, today: dt.date) -> Bulletin:
    locked = Bulletin.objects.select_for_update().filter(period=period).first()
    if locked is not None and locked.is_issued:
        raise ConflictError(
            f"{period.label}的通报已于 {timezone.localtime(locked.issued_at):%Y-%m-%d %H:%M} 印发（{locked.number_label}），"
            "不能重复印发。"
        )
    bulletin = locked or bulletin_for(period=period)
    figures = bulletin_figures(period=period, today=today)  # refuses a period without reports
    issued_on = bulletin.issued_on or today
    year = issued_on.year
    number = (
        Bulletin.objects.filter(year=year, number__isnull=False).aggregate(n=Max("number"))["n"] or 0
    ) + 1
    bulletin.year, bulletin.number, bulletin.issued_on = year, number, issued_on
    context = bulletin_context(
        figures=figures, title=bulletin.title, issuer=bulletin.issuer, issued_on=issued_on,
        number_text=_number_text(bulletin), requirements=bulletin.requirements,
    )  # fmt: skip
    content = bulletin_render(context=context)
    bulletin.status = Bulletin.Status.ISSUED
    bulletin.figures = figures
    bulletin.sha256 = hashlib.sha256(content).hexdigest()
    bulletin.issued_by, bulletin.issued_at = actor, now
    bulletin.updated_by = actor
    bulletin.file.save(f"{year}-{number}.docx", ContentFile(content), save=False)
    bulletin.save()
    audit_log(
        actor=actor,
        action="bulletin_issue",
        obj=bulletin,
        message=f"印发{bulletin.number_label}通报：{bulletin.title}",
        changes={"number": ["", bulletin.number_label], "sha256": ["", bulletin.sha256]},
    )
    _notify(bulletin)
    return bulletin


def _notify(bulletin: Bulletin) -> int:
    """Every unit's reporters and every leader get it in their inbox."""
    from django.urls import reverse

    users = User.objects.filter(is_active=True).filter(
        Q(role=Role.REPORTER, unit__isnull=False, unit__deleted_at__isnull=True) | Q(role=Role.LEADER)
    )
    link = reverse("reports:bulletin-download", args=[bulletin.pk])
    message = f"医改办印发{bulletin.number_label}《{bulletin.title}》，请下载阅读并抓好落实。"
    rows = [
        Notification(user_id=pk, kind="bulletin", message=message, link=link)
        for pk in users.values_list("pk", flat=True)
    ]
    Notification.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def can_read_bulletins(user) -> bool:
    """The secretariat, leaders and units' reporters read issued 通报; the administrator and the auditor do not."""
    return has(user, "bulletins.read")


def bulletins_visible_to(*, user):
    """Issued 通报 a user may list and download (drafts are the secretariat's, through bulletin_for)."""
    if not can_read_bulletins(user):
        return Bulletin.objects.none()
    return Bulletin.objects.filter(status=Bulletin.Status.ISSUED).select_related("period")


def can_write_bulletins(user) -> bool:
    return has(user, "bulletins.write")
