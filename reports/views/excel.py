"""Excel pages of the reporting cycle: the quarterly compilation (汇总表) and a unit's offline form."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path

from departments.permissions import require
from departments.services import ApplicationError
from reports.models import Period
from reports.periods import period_resolve
from tasks.excel import compilation_export, export_filename, unit_form_export, unit_form_import
from tasks.excel_views import _read_upload, _xlsx_response


def _period(request) -> Period:
    try:
        return period_resolve(value=request.GET.get("period") or request.POST.get("period"))
    except ApplicationError as e:
        raise Http404(e.message) from None


@login_required
def compilation_download(request):
    """The whole period, every unit: for the secretariat, leaders and the administrator."""
    require(request.user, "reports.read_all")  # every unit's report text: not the administrator (三员分立)
    period = _period(request)
    return _xlsx_response(compilation_export(period=period), export_filename(f"{period.label}汇总表"))


def _reporter_unit(request):
    require(request.user, "reports.write")
    return request.user.unit


@login_required
def form_download(request):
    unit = _reporter_unit(request)
    period = _period(request)
    return _xlsx_response(unit_form_export(unit=unit, period=period), export_filename(f"{unit.name}{period.label}填报表"))


@login_required
def form_upload(request):
    unit = _reporter_unit(request)
    period = _period(request)
    context = {"period": period, "unit": unit, "periods": Period.objects.filter(is_open=True)}
    if request.method != "POST":
        return render(request, "reports/excel_form_upload.html", context)
    upload = request.FILES.get("file")
    if upload is None:
        return render(request, "reports/excel_form_upload.html", {**context, "error": "请选择填好的填报表（.xlsx 或 .xls）。"}, status=400)
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
