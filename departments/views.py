"""Account pages: sign-in (with lockout), the auditor's audit-log search and export, and the unit-name
suggestions the ledger's unit fields load."""

import hashlib
import json
from itertools import islice

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from reform_ledger.spreadsheets import DATETIME, Column, Sheet, render_xlsx, xlsx_response

from .audit_display import audit_rows
from .models import AuditEntry, UnitKind
from .permissions import AuditorRequiredMixin
from .security import LoginForm
from .selectors import audit_action_choices, audit_entries_search, unit_datalist_options
from .services import export_audit

AUDIT_PAGE_SIZE = 50
AUDIT_EXPORT_MAX_ROWS = 100_000


@login_required
def unit_options(request):
    """The unit-name suggestions of a datalist, as JSON: {"options": [[what may be typed, canonical name], …]}.

    Loaded by static/js/ledger.js rather than written into every ledger page: a province has a few hundred
    units, short names and aliases, the same for every user, and the browser keeps them (revalidated by ETag
    on each use, so a unit added a moment ago is offered at once). `kinds`: unit kinds, comma-separated."""
    raw = (request.GET.get("kinds") or "").strip()
    kinds = [k.strip() for k in raw.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in UnitKind.values]
    if unknown:
        allowed = "、".join(f"{value}（{label}）" for value, label in UnitKind.choices)
        return JsonResponse(
            {"detail": f"参数“kinds”中的“{unknown[0]}”不是单位类别，应为：{allowed}。", "field": "kinds"},
            status=400,
        )
    body = json.dumps({"options": unit_datalist_options(kinds=kinds or None)}, ensure_ascii=False)
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm


class PasswordChangeView(auth_views.PasswordChangeView):
    """Every account changes its own password here; after an administrator's reset it is the only page open."""

    template_name = "departments/password_change.html"

    def get_success_url(self):
        return reverse("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "密码已修改。")
        return response


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label="操作人", required=False, max_length=150)
    action = forms.CharField(label="操作", required=False, max_length=40)
    obj = forms.CharField(label="对象", required=False, max_length=300)
    ip = forms.GenericIPAddressField(
        label="来源地址", required=False, error_messages={"invalid": "来源地址不是有效的 IP 地址。"}
    )
    date_from = forms.DateField(
        label="起始日期", required=False, error_messages={"invalid": "起始日期格式应为 YYYY-MM-DD。"}
    )
    date_to = forms.DateField(
        label="截止日期", required=False, error_messages={"invalid": "截止日期格式应为 YYYY-MM-DD。"}
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "截止日期不能早于起始日期。")
        return data

    def filters(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class AuditLogView(AuditorRequiredMixin, View):
    """Search the audit trail by actor, action, object, date range and address; paginated."""

    def get(self, request):
        form = AuditSearchForm(request.GET or None)
        entries = AuditEntry.objects.none()
        if form.is_bound and form.is_valid():
            entries = audit_entries_search(**form.filters())
        elif not form.is_bound:
            entries = audit_entries_search()
        page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        from django.shortcuts import render

        return render(
            request,
            "departments/audit_log.html",
            {
                "form": form,
                "page": page,
                "rows": audit_rows(page.object_list),
                "actions": audit_action_choices(),
                "query": query.urlencode(),
            },
        )


AUDIT_EXPORT_COLUMNS = [
    Column("时间", 18, kind=DATETIME), Column("操作人", 14), Column("来源地址", 16), Column("操作", 16),
    Column("对象类型", 12), Column("对象编号", 10), Column("对象", 30), Column("变更", 50), Column("说明", 40),
]  # fmt: skip


def audit_export_rows(entries, chunk: int = 2000):
    """The export's rows, as readable as the page (departments.audit_display), named a chunk at a time."""
    it = entries.iterator(chunk_size=chunk)
    while batch := list(islice(it, chunk)):
        for r in audit_rows(batch):
            yield [
                r.entry.at,
                r.actor,
                r.ip,
                r.action,
                r.object_type,
                r.object_id,
                r.object,
                r.changes_text,
                r.message,
            ]


class AuditExportView(AuditorRequiredMixin, View):
    """The current search as .xlsx, every text exactly as recorded (the cell policy keeps "=..." as text). The
    export itself is audited."""

    def get(self, request):
        form = AuditSearchForm(request.GET or None)
        if form.is_bound and not form.is_valid():
            errors = "；".join(
                f"{form.fields[f].label}：{e}" if f in form.fields else e
                for f, es in form.errors.items()
                for e in es
            )
            return HttpResponse(f"无法导出：{errors}", status=400, content_type="text/plain; charset=utf-8")
        filters = form.filters() if form.is_bound else {}
        entries = audit_entries_search(**filters)
        total = entries.count()
        if total > AUDIT_EXPORT_MAX_ROWS:
            return HttpResponse(
                f"无法导出：符合条件的记录有 {total} 条，超过单次导出上限 {AUDIT_EXPORT_MAX_ROWS} 条，请缩小日期范围。",
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        rows = audit_export_rows(entries)
        # No title row: the header is row 1, for auditors who load the file into other tools.
        sheet = Sheet(name="审计日志", columns=AUDIT_EXPORT_COLUMNS, rows=rows)
        data = render_xlsx([sheet], streaming=True)  # up to 100,000 rows: memory stays flat
        export_audit(
            request=request, export="audit_log", title="审计日志", filters=filters, rows=sheet.row_count
        )
        return xlsx_response(data, filename=f"审计日志-{timezone.localtime():%Y%m%d-%H%M%S}.xlsx")


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI without inline script or style: the init script comes from this same URL with ?script.
    Signed-in users only (like the schema, SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); a browser that is not
    signed in is sent to the sign-in page and back."""

    template_name = "departments/swagger_ui.html"
    permission_classes = [AllowAny]  # the page holds no data; anonymous browsers are sent to sign in below

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)
