"""Excel import and export pages (see tasks/excel.py).

Import is two steps: the upload is checked and previewed (nothing written), then the secretariat confirms and the
same file is written in one transaction. Between the two the file waits under MEDIA_ROOT/imports/ under a random
name recorded in the uploader's session, so nobody can confirm someone else's upload.
"""

import hashlib
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views import View

from departments.permissions import SecretariatRequiredMixin
from departments.services import ApplicationError
from reform_ledger.params import is_id

from .excel import XLSX_CONTENT_TYPE, export_filename, ledger_export
from .ledger_import import ledger_import
from .models import Document
from .selectors import TaskFilterError, tasks_filter, tasks_visible_to

SESSION_KEY = "ledger_imports"


def _import_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _read_upload(upload) -> bytes:
    if upload.size > settings.IMPORT_MAX_BYTES:
        raise ApplicationError(
            f"文件过大（{upload.size / 1024 / 1024:.1f} MB），上限为 {settings.IMPORT_MAX_BYTES // 1024 // 1024} MB。",
            field="file",
        )
    return upload.read()


def _document_from(value) -> Document | None:
    value = (value or "").strip()
    if not value:
        return None
    doc = Document.objects.filter(pk=int(value)).first() if is_id(value) else Document.objects.filter(doc_number=value).first()
    if doc is None:
        raise ApplicationError(f"找不到文件“{value}”。", field="document")
    return doc


def _xlsx_response(data: bytes, filename: str) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename=\"ledger.xlsx\"; filename*=UTF-8''{quote(filename)}"
    return response


class ImportView(SecretariatRequiredMixin, View):
    template_name = "tasks/import.html"

    def get(self, request):
        return render(request, self.template_name, self._context())

    def _context(self, **extra):
        return {
            "documents": Document.objects.all(),
            "max_mb": settings.IMPORT_MAX_BYTES // 1024 // 1024,
            "max_rows": settings.IMPORT_MAX_ROWS,
            "max_columns": settings.IMPORT_MAX_COLUMNS,
            **extra,
        }

    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            return render(request, self.template_name, self._context(error="请选择要导入的 Excel 文件（.xlsx 或 .xls）。"), status=400)
        try:
            data = _read_upload(upload)
            document = _document_from(request.POST.get("document"))
            result = ledger_import(data=data, document=document, dry_run=True)
        except ApplicationError as e:
            return render(request, self.template_name, self._context(error=e.message), status=400)
        token = secrets.token_urlsafe(16)
        (_import_dir() / f"{token}.bin").write_bytes(data)
        pending = request.session.get(SESSION_KEY, {})
        pending[token] = {
            "name": upload.name,
            "document": document.pk if document else None,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        request.session[SESSION_KEY] = pending
        return render(
            request,
            "tasks/import_preview.html",
            {"result": result, "token": token, "filename": upload.name, "document": document},
        )


class ImportConfirmView(SecretariatRequiredMixin, View):
    def post(self, request):
        token = request.POST.get("token", "")
        pending = request.session.get(SESSION_KEY, {})
        entry = pending.get(token)
        file = _import_dir() / f"{token}.bin"
        if entry is None or not token.replace("-", "").replace("_", "").isalnum() or not file.exists():
            messages.error(request, "导入预览已失效，请重新上传文件。")
            return redirect("tasks:import")
        data = file.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            messages.error(request, "导入文件校验失败，请重新上传。")
            return redirect("tasks:import")
        document = Document.objects.filter(pk=entry["document"]).first() if entry["document"] else None
        try:
            result = ledger_import(data=data, document=document, dry_run=False, actor=request.user, request=request)
        except ApplicationError as e:
            messages.error(request, e.message)
            return redirect("tasks:import")
        if not result.written:
            # Someone changed the ledger between preview and confirm so that rows no longer pass: show them.
            return render(
                request,
                "tasks/import_preview.html",
                {"result": result, "token": token, "filename": entry["name"], "document": document},
                status=400,
            )
        file.unlink(missing_ok=True)
        pending.pop(token, None)
        request.session[SESSION_KEY] = pending
        text = f"导入完成：新建 {result.created} 项，更新 {result.updated} 项，未变 {result.unchanged} 项。"
        if result.conflicts:
            text += f"另有 {len(result.conflicts)} 项因导出后已被修改而未覆盖，请重新导出后再改。"
        messages.success(request, text)
        return redirect("tasks:list")


@login_required
def export_page(request):
    """Export choices: the whole ledger, one plan, or the ledger page's current filter (same query string)."""
    from reports.models import Period

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
def export_ledger(request):
    """What the ledger page shows for this query string, as .xlsx in the standard layout."""
    from reports.models import Period

    qs = tasks_visible_to(user=request.user)
    try:
        qs = tasks_filter(qs, params=request.GET, today=timezone.localdate())
    except TaskFilterError as e:
        return render(request, "tasks/export.html", {"error": e.message, "documents": Document.objects.all()}, status=400)
    period = None
    raw = (request.GET.get("period") or "").strip()
    if raw:
        period = Period.objects.filter(pk=int(raw)).first() if is_id(raw) else None
        if period is None:
            return render(
                request, "tasks/export.html", {"error": f"填报期“{raw}”不存在。", "documents": Document.objects.all()}, status=400
            )
    from departments.permissions import can_read_everything

    sees_all = can_read_everything(request.user) or request.user.role == "admin"
    report_units = None if sees_all else ({request.user.unit_id} if request.user.unit_id else set())
    data = ledger_export(qs=qs, period=period, report_units=report_units)
    return _xlsx_response(data, export_filename("任务台账"))


urlpatterns = [
    path("tasks/import/", ImportView.as_view(), name="import"),
    path("tasks/import/confirm/", ImportConfirmView.as_view(), name="import-confirm"),
    path("tasks/export/", export_ledger, name="export"),
    path("tasks/export/choose/", export_page, name="export-page"),
]
