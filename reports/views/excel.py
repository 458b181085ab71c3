"""Excel pages of the reporting cycle: the quarterly compilation (汇总表), a unit's offline form, and the ledger
export (its period columns carry report text, so the page lives here, above tasks and reports)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from departments.permissions import report_unit_ids_readable, require
from departments.services import ApplicationError, export_audit
from reform_ledger.params import is_id
from reform_ledger.spreadsheets import export_filename, xlsx_response
from reports.models import Period
from reports.periods import period_resolve
from reports.selectors import ledger_report_texts
from reports.sheets import compilation_export, unit_form_export, unit_form_import
from tasks.excel_views import _read_upload
from tasks.models import Document
from tasks.selectors import TaskFilterError, tasks_filter, tasks_visible_to
from tasks.sheets import ledger_export_counted


def _period(request) -> Period:
    try:
        return period_resolve(value=request.GET.get("period") or request.POST.get("period"))
    except ApplicationError as e:
        raise Http404(e.message) from None


@login_required
def compilation_download(request):
    """The whole period, every unit: for the secretariat and leaders."""
    require(request.user, "reports.read_all")  # every unit's report text: not the administrator (三员分立)
    period = _period(request)
    data, rows = compilation_export(period=period)
    export_audit(
        request=request,
        export="compilation",
        title=f"{period.label}汇总表",
        filters={"period": period.pk},
        rows=rows,
    )
    return xlsx_response(data, filename=export_filename(f"{period.label}汇总表"))


def _reporter_unit(request):
    require(request.user, "reports.write")
    return request.user.unit


@login_required
def form_download(request):
    unit = _reporter_unit(request)
    period = _period(request)
    data, rows = unit_form_export(unit=unit, period=period)
    export_audit(
        request=request,
        export="unit_form",
        title=f"{unit.name}{period.label}填报表",
        filters={"period": period.pk},
        rows=rows,
    )
    return xlsx_response(data, filename=export_filename(f"{unit.name}{period.label}填报表"))


@login_required
def form_upload(request):
    unit = _reporter_unit(request)
    period = _period(request)
    context = {"period": period, "unit": unit, "periods": Period.objects.filter(is_open=True)}
    if request.method != "POST":
        return render(request, "reports/excel_form_upload.html", context)
    upload = request.FILES.get("file")
    if upload is None:
        return render(
            request,
            "reports/excel_form_upload.html",
            {**context, "error": "请选择填好的填报表（.xlsx 或 .xls）。"},
            status=400,
        )
    try:
        result = unit_form_import(data=_read_upload(upload), unit=unit, period=period, actor=request.user)
    except ApplicationError as e:
        return render(request, "reports/excel_form_upload.html", {**context, "error": e.message}, status=400)
    status = 400 if result.errors else 200
    return render(request, "reports/excel_form_upload.html", {**context, "result": result}, status=status)


@login_required
def ledger_export_page(request):
    """Export choices: the whole ledger, one plan, or the ledger page's current filter (same query string)."""
    return render(
        request,
        "tasks/export.html",
        {
            "documents": Document.objects.all(),
            "periods": Period.objects.all(),
            "query": request.GET.urlencode(),
        },
    )


@login_required
def ledger_export(request):
    """What the ledger page shows for this query string, as .xlsx in the standard layout; with `period`, the
    period columns carry the lead unit's report text the user may read (submitted content, or its own unit's)."""
    qs = tasks_visible_to(user=request.user)
    try:
        qs = tasks_filter(qs, params=request.GET, today=timezone.localdate())
    except TaskFilterError as e:
        return render(
            request,
            "tasks/export.html",
            {"error": e.message, "documents": Document.objects.all()},
            status=400,
        )
    period = None
    raw = (request.GET.get("period") or "").strip()
    if raw:
        period = Period.objects.filter(pk=int(raw)).first() if is_id(raw) else None
        if period is None:
            return render(
                request,
                "tasks/export.html",
                {"error": f"填报期“{raw}”不存在。", "documents": Document.objects.all()},
                status=400,
            )
    report_texts = None
    if period is not None:
        # Report text only of the units whose reports the user may read: none for the administrator (三员分立).
        report_texts = ledger_report_texts(
            period=period, task_ids=qs.values("pk"), readable_unit_ids=report_unit_ids_readable(request.user)
        )
    data, rows = ledger_export_counted(
        qs=qs, period_label=period.label if period else "", report_texts=report_texts
    )
    filters = {k: v for k, v in request.GET.items() if k != "page"}
    export_audit(request=request, export="ledger", title="任务台账", filters=filters, rows=rows)
    return xlsx_response(data, filename=export_filename("任务台账"))


urlpatterns = [
    path("reports/compilation.xlsx", compilation_download, name="compilation-export"),
    path("reports/my-form.xlsx", form_download, name="form-export"),
    path("reports/my-form/upload/", form_upload, name="form-import"),
    # The addresses stay under tasks/ (bookmarks, the ledger page's button); the names are the reports app's.
    path("tasks/export/", ledger_export, name="ledger-export"),
    path("tasks/export/choose/", ledger_export_page, name="ledger-export-page"),
]
