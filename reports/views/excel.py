"""Excel pages of the reporting cycle: the quarterly compilation (汇总表) and a unit's offline form."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import path

from departments.models import Role
from departments.permissions import can_read_everything
from departments.services import ApplicationError, export_audit
from reform_ledger.params import is_id
from reform_ledger.spreadsheets import export_filename, xlsx_response
from reports.models import Period
from reports.selectors import period_current
from reports.sheets import compilation_export, unit_form_export, unit_form_import
from tasks.excel_views import _read_upload


def _period(request) -> Period:
    raw = (request.GET.get("period") or request.POST.get("period") or "").strip()
    if not raw:
        period = period_current()
        if period is None:
            raise Http404("还没有填报期。")
        return period
    if not is_id(raw):
        raise Http404("填报期不存在。")
    period = Period.objects.filter(pk=int(raw)).first()
    if period is None:
        raise Http404("填报期不存在。")
    return period


@login_required
def compilation_download(request):
    """The whole period, every unit: for the secretariat, leaders and the administrator."""
    if not (can_read_everything(request.user) or request.user.role == Role.ADMIN):
        raise PermissionDenied("只有医改办和领导可以下载季度汇总表。")
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
    if request.user.role != Role.REPORTER or not request.user.unit_id:
        raise PermissionDenied("只有填报员可以下载和上传本单位的填报表。")
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


urlpatterns = [
    path("reports/compilation.xlsx", compilation_download, name="compilation-export"),
    path("reports/my-form.xlsx", form_download, name="form-export"),
    path("reports/my-form/upload/", form_upload, name="form-import"),
]
