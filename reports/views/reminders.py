"""Reminder pages: everyone's inbox, the secretariat's reminder log and the 催报 form.

URL names (namespace ``reports``): inbox, inbox-read, inbox-read-all, reminder-log, remind-unit.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from departments.models import Unit, User
from departments.permissions import capability_required
from departments.services import ApplicationError
from reform_ledger.params import is_id

from ..jobs import deliveries_enqueue
from ..models import Delivery, Period, Reminder
from ..periods import period_current
from ..reminders import (
    notification_mark_all_read,
    notification_mark_read,
    notifications_visible_to,
    reminder_send_manual,
)

PAGE_SIZE = 50


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@login_required
def inbox(request):
    only_unread = request.GET.get("unread") == "1"
    qs = notifications_visible_to(user=request.user)
    if only_unread:
        qs = qs.filter(read_at__isnull=True)
    page = _page(request, qs)
    labels = dict(Reminder.Kind.choices)
    for note in page.object_list:
        note.kind_label = labels.get(note.kind, note.kind)
    return render(
        request,
        "reports/inbox.html",
        {"page": page, "only_unread": only_unread, "query": _query_without_page(request)},
    )


def _back(request):
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("reports:inbox")


@login_required
@require_POST
def inbox_mark_read(request, pk: int):
    note = get_object_or_404(notifications_visible_to(user=request.user), pk=pk)  # someone else's: 404
    notification_mark_read(notification=note, now=timezone.now())
    if request.POST.get("open") and note.link:
        return redirect(note.link)
    return _back(request)


@login_required
@require_POST
def inbox_mark_all_read(request):
    n = notification_mark_all_read(user=request.user, now=timezone.now())
    messages.success(request, f"已将 {n} 条消息标为已读。")
    return _back(request)


def _parse_date(value: str, label: str, errors: list[str]) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.append(f"筛选条件“{label}”的值“{value}”不是有效日期（应为 YYYY-MM-DD）。")
        return None


def reminder_log_filter(params) -> tuple:
    """Deliveries (one row per recipient and channel) filtered by unit, kind, channel, status and date."""
    errors: list[str] = []
    qs = Delivery.objects.filter(reminder__isnull=False)  # digests are per person, not a unit's reminder
    qs = qs.select_related("reminder__unit", "reminder__period", "reminder__created_by").order_by(
        "-reminder__created_at", "-reminder_id", "channel", "id"
    )
    unit = (params.get("unit") or "").strip()
    if unit:
        if is_id(unit):
            qs = qs.filter(reminder__unit_id=int(unit))
        else:
            qs = qs.filter(
                Q(reminder__unit__name__contains=unit) | Q(reminder__unit__short_name__contains=unit)
            )
    choice_filters = (
        ("kind", Reminder.Kind.values, "类型", "reminder__kind"),
        ("channel", Delivery.Channel.values, "渠道", "channel"),
        ("status", Delivery.Status.values, "状态", "status"),
    )
    for param, allowed, label, lookup in choice_filters:
        value = params.get(param) or ""
        if not value:
            continue
        if value not in allowed:
            errors.append(f"筛选条件“{label}”的值“{value}”无效。")
        else:
            qs = qs.filter(**{lookup: value})
    since = _parse_date(params.get("since"), "起始日期", errors)
    until = _parse_date(params.get("until"), "截止日期", errors)
    if since:
        qs = qs.filter(reminder__send_on__gte=since)
    if until:
        qs = qs.filter(reminder__send_on__lte=until)
    return qs, errors


def reminder_log(request):
    """The secretariat's log: who was reminded of what, when, over which channel, delivered or failed and why."""
    qs, errors = reminder_log_filter(request.GET)
    if errors:
        qs = qs.none()
    page = _page(request, qs)
    user_ids = {int(d.recipient[5:]) for d in page.object_list if d.recipient.startswith("user:")}
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=user_ids)}
    for d in page.object_list:
        if d.recipient.startswith("user:"):
            d.recipient_label = names.get(int(d.recipient[5:]), d.recipient)
        else:
            d.recipient_label = d.recipient
    return render(
        request,
        "reports/reminders_log.html",
        {
            "page": page,
            "errors": errors,
            "filters": request.GET,
            "kinds": Reminder.Kind.choices,
            "channels": Delivery.Channel.choices,
            "statuses": Delivery.Status.choices,
            "units": Unit.objects.filter(deleted_at__isnull=True, is_active=True).order_by(
                "kind", "sort_order", "name"
            ),
            "query": _query_without_page(request),
            "undelivered": Reminder.objects.filter(deliveries__isnull=True).count(),
            "digests": _recent_digest_deliveries(),
        },
    )


def _recent_digest_deliveries(limit: int = 50) -> list[Delivery]:
    """The latest per-person digests (每日汇总) and whether they went out: they are not any unit's reminder."""
    rows = list(
        Delivery.objects.filter(digest__isnull=False)
        .select_related("digest__user")
        .order_by("-digest__sweep_on", "-id")[:limit]
    )
    for d in rows:
        d.recipient_label = str(d.digest.user) if d.recipient.startswith("user:") else d.recipient
    return rows


def remind_unit(request):
    """催报 by hand: one unit, now, over all its channels."""
    units = Unit.objects.filter(deleted_at__isnull=True, is_active=True).order_by(
        "kind", "sort_order", "name"
    )
    periods = Period.objects.order_by("-year", "-quarter")
    values = {"unit": request.GET.get("unit", ""), "period": "", "message": "", "escalation": "0"}
    current = period_current()
    if current:
        values["period"] = str(current.pk)
    error, error_field = None, None
    if request.method == "POST":
        values = {k: (request.POST.get(k) or "").strip() for k in ("unit", "period", "message", "escalation")}
        try:
            unit = units.filter(pk=int(values["unit"])).first() if is_id(values["unit"]) else None
            if unit is None:
                raise ApplicationError("请选择要催报的单位。", field="unit")
            period = None
            if values["period"]:
                period = periods.filter(pk=int(values["period"])).first() if is_id(values["period"]) else None
                if period is None:
                    raise ApplicationError("所选填报期不存在。", field="period")
            try:
                escalation = int(values["escalation"] or 0)
            except ValueError:
                raise ApplicationError("抄送范围无效。", field="escalation") from None
            reminder = reminder_send_manual(
                unit=unit,
                actor=request.user,
                message=values["message"],
                period=period,
                escalation=escalation,
                now=timezone.now(),
                request=request,
                deliver=deliveries_enqueue,
            )
        except ApplicationError as exc:
            error, error_field = exc.message, exc.field
        else:
            messages.success(request, f"已向{unit.name}发送催报（#{reminder.pk}）。")
            return redirect(f"{reverse('reports:reminder-log')}?unit={unit.pk}")
    return render(
        request,
        "reports/reminders_send.html",
        {
            "units": units,
            "periods": periods,
            "values": values,
            "error": error,
            "error_field": error_field,
            "kinds": [("0", "本单位填报员"), ("1", "并抄送医改办"), ("2", "并抄送医改办和领导")],
        },
        status=400 if error else 200,
    )


reminder_log_view = capability_required("reminders.manage")(reminder_log)
remind_unit_view = capability_required("reminders.manage")(remind_unit)

urlpatterns = [
    path("inbox/", inbox, name="inbox"),
    path("inbox/<int:pk>/read/", inbox_mark_read, name="inbox-read"),
    path("inbox/read-all/", inbox_mark_all_read, name="inbox-read-all"),
    path("reminders/", reminder_log_view, name="reminder-log"),
    path("reminders/send/", remind_unit_view, name="remind-unit"),
]
