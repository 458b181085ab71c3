"""Plan extraction: paste or upload a plan, review the draft ledger, confirm. Nothing is written before confirm."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from departments.models import Unit, UnitKind
from departments.permissions import can_edit_ledger
from departments.services import ApplicationError

from .plan_import import MAX_PLAN_CHARS, json_ready, plan_extract, plan_import_confirm, plan_read

SESSION_KEY = "plan_draft"
OPS = [(">=", "≥"), ("<=", "≤"), ("=", "="), (">", ">"), ("<", "<"), ("~", "约"), ("between", "介于"), ("+=", "增加")]


def _secretariat_only(request):
    if not can_edit_ledger(request.user):
        raise PermissionDenied("只有医改办工作人员可以从文件导入任务。")


@login_required
@require_http_methods(["GET", "POST"])
def plan_extract_view(request):
    _secretariat_only(request)
    error, text = None, ""
    if request.method == "POST":
        text = request.POST.get("text", "")
        upload = request.FILES.get("file")
        try:
            if upload is not None:
                if upload.size > settings.IMPORT_MAX_BYTES:
                    raise ApplicationError(
                        f"文件过大（{upload.size // 1024} KB），上限为 {settings.IMPORT_MAX_BYTES // 1024 // 1024} MB。",
                        field="file",
                    )
                text = plan_read(data=upload.read(), filename=upload.name)
            draft = json_ready(plan_extract(text=text))
            draft["source_text"] = text
            request.session[SESSION_KEY] = draft
            return redirect("tasks:plan-review")
        except ApplicationError as e:
            error = e.message
            if len(text) > MAX_PLAN_CHARS:
                text = ""  # never echo an oversize text back into the page
    return render(request, "tasks/plan_extract.html", {"error": error, "text": text}, status=400 if error else 200)


def _split_names(value: str) -> list[str]:
    for sep in ("，", ",", ";", "；", "\n"):
        value = value.replace(sep, "、")
    return [v.strip() for v in value.split("、") if v.strip()]


def _deadlines_text(task: dict) -> str:
    return "\n".join(f"{d.get('date') or ''} | {d.get('text') or ''}" for d in task.get("deadlines", []))


def _targets_text(task: dict) -> str:
    lines = []
    for t in task.get("targets", []):
        value = t.get("value")
        value = f"{value[0]}-{value[1]}" if isinstance(value, list) else value
        lines.append(f"{t.get('indicator')} | {t.get('op')} | {value} | {t.get('unit') or ''} | {t.get('by') or ''}")
    return "\n".join(lines)


def _parse_deadlines(raw: str, index: int) -> list[dict]:
    out = []
    for n, line in enumerate([ln for ln in raw.splitlines() if ln.strip()], start=1):
        date, _, text = line.partition("|")
        out.append({"date": date.strip() or None, "text": text.strip() or date.strip()})
        if date.strip():
            import datetime as dt

            try:
                dt.date.fromisoformat(date.strip())
            except ValueError:
                raise ApplicationError(
                    f"第 {index} 项任务的时限第 {n} 行：“{date.strip()}”不是日期（格式 YYYY-MM-DD | 原文）。", field="deadlines"
                ) from None
    return out


def _parse_targets(raw: str, index: int) -> list[dict]:
    out = []
    for n, line in enumerate([ln for ln in raw.splitlines() if ln.strip()], start=1):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 3:
            raise ApplicationError(
                f"第 {index} 项任务的指标第 {n} 行格式应为：指标 | 比较 | 目标值 | 单位 | 到期日。", field="targets"
            )
        parts += [""] * (5 - len(parts))
        indicator, op, value, unit, by = parts[:5]
        if op == "between" and "-" in value.strip("-"):
            lo, hi = value.split("-", 1)
            value = [lo.strip(), hi.strip()]
        out.append({"indicator": indicator, "op": op, "value": value, "unit": unit, "by": by or None})
    return out


def _draft_from_post(post, draft: dict) -> tuple[dict, dict]:
    new = {k: draft.get(k) for k in ("reporting_dates", "source_text")}
    for key in ("doc_number", "title", "issuer", "issued_on"):
        new[key] = post.get(key, "").strip() or None
    tasks = []
    for i, original in enumerate(draft.get("tasks", [])):
        prefix = f"t{i}-"
        if not post.get(prefix + "include"):
            continue
        index = i + 1
        tasks.append(
            {
                "path": [p for p in post.get(prefix + "path", "").replace("．", ".").split(".") if p.strip()],
                "section": original.get("section") or [],
                "title": post.get(prefix + "title", "").strip(),
                "text": post.get(prefix + "text", original.get("text", "")),
                "lead_units": _split_names(post.get(prefix + "lead", "")),
                "responsible_units": _split_names(post.get(prefix + "responsible", "")),
                "counties_involved": bool(post.get(prefix + "counties")),
                "deadlines": _parse_deadlines(post.get(prefix + "deadlines", ""), index),
                "targets": _parse_targets(post.get(prefix + "targets", ""), index),
            }
        )
    new["tasks"] = tasks
    mappings = {name: post.get(f"map-{n}", "") for n, name in enumerate(draft.get("unknown_units", {}))}
    return new, mappings


@login_required
@require_http_methods(["GET", "POST"])
def plan_review_view(request):
    _secretariat_only(request)
    draft = request.session.get(SESSION_KEY)
    if not draft:
        messages.info(request, "请先粘贴或上传一份文件。")
        return redirect("tasks:extract")
    error = None
    if request.method == "POST":
        if request.POST.get("action") == "discard":
            request.session.pop(SESSION_KEY, None)
            messages.info(request, "已放弃本次读取，未写入任何内容。")
            return redirect("tasks:extract")
        try:
            edited, mappings = _draft_from_post(request.POST, draft)
            document = plan_import_confirm(draft=edited, mappings=mappings, actor=request.user, request=request)
        except ApplicationError as e:
            error = e.message
            # Keep what the person typed: show the edited values again, not the original extraction.
            try:
                draft = {**draft, **{k: v for k, v in _safe_edit(request.POST, draft).items() if v is not None}}
            except ApplicationError:
                pass
        else:
            request.session.pop(SESSION_KEY, None)
            messages.success(request, f"已导入 {document}：任务 {document.tasks.count()} 项。")
            return redirect(reverse("tasks:list") + f"?document={document.pk}")
    units = list(Unit.objects.filter(deleted_at__isnull=True).exclude(kind=UnitKind.COUNTY).order_by("name"))
    unknown = draft.get("unknown_units", {})
    rows = []
    for i, t in enumerate(draft.get("tasks", [])):
        names = set(t.get("lead_units", []) + t.get("responsible_units", []))
        rows.append(
            {
                "i": i,
                "task": t,
                "path": ".".join(t.get("path", [])),
                "lead": "、".join(t.get("lead_units", [])),
                "responsible": "、".join(t.get("responsible_units", [])),
                "deadlines": _deadlines_text(t),
                "targets": _targets_text(t),
                "unknown": sorted(n for n in names if n in unknown),
                "include": t.get("include", True),
            }
        )
    mapping_rows = [
        {"n": n, "name": name, "suggestions": [u for u in units if u.name in hints], "selected": request.POST.get(f"map-{n}", "")}
        for n, (name, hints) in enumerate(unknown.items())
    ]
    context = {"draft": draft, "rows": rows, "mapping_rows": mapping_rows, "units": units, "error": error, "ops": OPS}
    return render(request, "tasks/plan_review.html", context, status=400 if error else 200)


def _safe_edit(post, draft):
    edited, _ = _draft_from_post(post, draft)
    included = {i for i in range(len(draft.get("tasks", []))) if post.get(f"t{i}-include")}
    tasks, it = [], iter(edited["tasks"])
    for i, original in enumerate(draft.get("tasks", [])):
        tasks.append({**next(it), "include": True} if i in included else {**original, "include": False})
    return {**edited, "tasks": tasks}


urlpatterns = [
    path("plans/extract/", plan_extract_view, name="extract"),
    path("plans/review/", plan_review_view, name="plan-review"),
]
