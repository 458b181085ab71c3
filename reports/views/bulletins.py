"""The quarterly 通报 pages. The secretariat previews a period's figures, writes 下一步工作要求, downloads the draft
and issues it (after a confirmation); everyone who reads the roll-ups except the administrator (leaders, units)
lists and downloads the issued ones. The auditor and the administrator get 403."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from departments.services import ApplicationError
from reform_ledger.params import is_id
from reports.bulletin import (
    bulletin_context,
    bulletin_document,
    bulletin_figures,
    bulletin_for,
    bulletin_issue,
    bulletin_save_draft,
    bulletins_visible_to,
    can_read_bulletins,
    can_write_bulletins,
)
from reports.models import Bulletin, Period

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _docx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=DOCX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _require_reader(request):
    if not can_read_bulletins(request.user):
        raise PermissionDenied("季度通报仅向医改办、领导和各单位开放。")


def _require_writer(request):
    if not can_write_bulletins(request.user):
        raise PermissionDenied("只有医改办工作人员可以编写和印发通报。")


def _period_or_404(period_id) -> Period:
    period = Period.objects.filter(pk=period_id).first() if is_id(str(period_id)) else None
    if period is None:
        raise Http404("填报期不存在。")
    return period


@login_required
def bulletin_list(request):
    """Issued 通报, newest first; for the secretariat also the periods to write one for."""
    _require_reader(request)
    issued = list(bulletins_visible_to(user=request.user).order_by("-year", "-number"))
    ctx = {"issued": issued, "can_write": can_write_bulletins(request.user)}
    if ctx["can_write"]:
        drafts = {b.period_id: b for b in Bulletin.objects.filter(status=Bulletin.Status.DRAFT)}
        done = {b.period_id for b in issued}
        ctx["periods"] = [
            {"period": p, "draft": drafts.get(p.pk), "issued": p.pk in done}
            for p in Period.objects.order_by("-year", "-quarter")[:12]
        ]
    return render(request, "reports/bulletin_list.html", ctx)


@login_required
def bulletin_download(request, pk: int):
    """An issued 通报, byte for byte as it was issued. One a user may not see answers 404."""
    bulletin = bulletins_visible_to(user=request.user).filter(pk=pk).first()
    if bulletin is None:
        raise Http404("通报不存在。")
    with bulletin.file.open("rb") as f:
        content = f.read()
    return _docx_response(content, f"医改工作通报{bulletin.number_label}.docx")


@login_required
@require_http_methods(["GET", "POST"])
def bulletin_draft(request, period_id: int):
    """Preview the figures, write 下一步工作要求 (and title, issuer, date), save the draft."""
    _require_writer(request)
    period = _period_or_404(period_id)
    bulletin = bulletin_for(period=period)
    if bulletin.is_issued:
        messages.info(request, f"{period.label}的通报已印发（{bulletin.number_label}）。")
        return redirect("reports:bulletin-list")
    error = error_field = None
    values = {
        "title": bulletin.title,
        "issuer": bulletin.issuer,
        "issued_on": bulletin.issued_on.isoformat() if bulletin.issued_on else "",
        "requirements": bulletin.requirements,
    }
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        try:
            bulletin = bulletin_save_draft(period=period, actor=request.user, **values)
        except ApplicationError as e:
            error, error_field = e.message, e.field
        else:
            messages.success(request, "通报草稿已保存。")
            return redirect("reports:bulletin-draft", period_id=period.pk)
    today = timezone.localdate()
    figures = context = None
    try:
        figures = bulletin_figures(period=period, today=today)
    except ApplicationError as e:
        figures_error = e.message
    else:
        figures_error = None
        context = bulletin_context(
            figures=figures, title=bulletin.title, issuer=bulletin.issuer, issued_on=bulletin.issued_on or today,
            number_text="", requirements=bulletin.requirements,
        )  # fmt: skip
    return render(
        request,
        "reports/bulletin_draft.html",
        {
            "period": period,
            "bulletin": bulletin,
            "values": values,
            "error": error,
            "error_field": error_field,
            "figures": figures,
            "figures_error": figures_error,
            "text": context,
            "today": today,
            "ranking": (context or {}).get("ranking", [])[:30],
            "ranking_more": max(0, len((context or {}).get("ranking", [])) - 30),
        },
        status=400 if error else 200,
    )


@login_required
def bulletin_draft_docx(request, period_id: int):
    _require_writer(request)
    period = _period_or_404(period_id)
    bulletin = bulletin_for(period=period)
    try:
        content, _figures = bulletin_document(bulletin=bulletin, today=timezone.localdate())
    except ApplicationError as e:
        messages.error(request, e.message)
        return redirect("reports:bulletin-draft", period_id=period.pk)
    name = (
        f"医改工作通报{bulletin.number_label}.docx" if bulletin.is_issued else f"通报草稿-{period.label}.docx"
    )
    return _docx_response(content, name)


@login_required
@require_http_methods(["GET", "POST"])
def bulletin_issue_confirm(request, period_id: int):
    """GET: what issuing will do; POST (the confirmation): issue."""
    _require_writer(request)
    period = _period_or_404(period_id)
    bulletin = bulletin_for(period=period)
    error = None
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            error = "请勾选“确认印发”后再提交。"
        else:
            try:
                issued = bulletin_issue(period=period, actor=request.user)
            except ApplicationError as e:
                error = e.message
            else:
                messages.success(request, f"已印发{issued.number_label}通报，并发送到各单位和领导的站内信。")
                return redirect("reports:bulletin-list")
    next_number = None
    if not bulletin.is_issued:
        from django.db.models import Max

        year = (bulletin.issued_on or timezone.localdate()).year
        next_number = (Bulletin.objects.filter(year=year).aggregate(n=Max("number"))["n"] or 0) + 1
        next_number = f"{year}年第{next_number}期"
    return render(
        request,
        "reports/bulletin_issue.html",
        {"period": period, "bulletin": bulletin, "error": error, "next_number": next_number},
        status=409 if error and bulletin.is_issued else 400 if error else 200,
    )


urlpatterns = [
    path("reports/bulletins/", bulletin_list, name="bulletin-list"),
    path("reports/bulletins/<int:pk>/download/", bulletin_download, name="bulletin-download"),
    path("reports/bulletins/period/<int:period_id>/", bulletin_draft, name="bulletin-draft"),
    path(
        "reports/bulletins/period/<int:period_id>/draft.docx", bulletin_draft_docx, name="bulletin-draft-docx"
    ),
    path("reports/bulletins/period/<int:period_id>/issue/", bulletin_issue_confirm, name="bulletin-issue"),
]
