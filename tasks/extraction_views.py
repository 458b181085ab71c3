"""Plan extraction: paste or upload a plan, review the draft ledger, confirm. Nothing is written before confirm.

A plan whose 文号 is already in the ledger is stopped at upload: the person sees what would change (tasks added,
changed, removed) and either updates the existing plan or imports under another 文号.
"""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from departments.models import Unit, UnitKind
from departments.permissions import can_edit_ledger
from departments.selectors import unit_lookup_table, unit_match_candidates
from departments.services import ApplicationError

from .models import Document
from .plan_import import (
    MAX_PLAN_CHARS,
    json_ready,
    plan_diff,
    plan_existing_document,
    plan_extract,
    plan_import_confirm,
    plan_read,
    plan_update_confirm,
)

SESSION_KEY = "plan_draft"
# The comparisons a target may make, as the plans write them; the code is what the API and JSON carry.
OPS = [
    (">=", "不低于"),
    ("<=", "不超过"),
    ("=", "等于"),
    ("~", "左右"),
    ("between", "区间"),
    ("+=", "增加"),
    (">", "高于"),
    ("<", "低于"),
]
OP_CODES = {code for code, _ in OPS}
UNCHOSEN = "?"  # the mapping select's placeholder: the person has not decided yet


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
            existing = plan_existing_document(doc_number=draft.get("doc_number"), title=draft.get("title"))
            if existing is not None:
                diff = plan_diff(draft=draft, document=existing)
                draft["existing"] = {
                    "id": existing.pk,
                    "doc_number": existing.doc_number,
                    "title": existing.title,
                    "versions": {c["path"]: c["version"] for c in diff["changed"] + diff["unchanged"]},
                }
                request.session[SESSION_KEY] = draft
                context = {"duplicate": existing, "diff": diff, "text": "" if upload is not None else text}
                return render(request, "tasks/plan_extract.html", context, status=409)
            request.session[SESSION_KEY] = draft
            return redirect("tasks:plan-review")
        except ApplicationError as e:
            error = e.message
            if len(text) > MAX_PLAN_CHARS:
                text = ""  # never echo an oversize text back into the page
    return render(
        request, "tasks/plan_extract.html", {"error": error, "text": text}, status=400 if error else 200
    )


def _split_names(value: str) -> list[str]:
    for sep in ("，", ",", ";", "；", "\n"):
        value = value.replace(sep, "、")
    return [v.strip() for v in value.split("、") if v.strip()]


def _rows(post, prefix: str, fields: tuple[str, ...]) -> list[dict]:
    """The repeated rows of one task's deadlines or targets (``t3-d0-date`` …); rows left blank are dropped."""
    try:
        count = min(int(post.get(f"{prefix}n", "0")), 50)
    except ValueError:
        count = 0
    rows = []
    for j in range(count):
        row = {f: post.get(f"{prefix}{j}-{f}", "").strip() for f in fields}
        if any(v for k, v in row.items() if k != "op"):  # the comparison select alone does not make a row
            rows.append(row)
    return rows


def _draft_from_post(post, draft: dict) -> dict:
    """The reviewed draft as typed (values still text), so it can be shown again when something is wrong."""
    new = {k: draft.get(k) for k in ("reporting_dates", "source_text", "existing", "mode", "unknown_units")}
    for key in ("doc_number", "title", "issuer", "issued_on"):
        new[key] = post.get(key, "").strip() or None
    tasks = []
    for i, original in enumerate(draft.get("tasks", [])):
        p = f"t{i}-"
        deadlines = [
            {"date": r["date"] or None, "text": r["text"]} for r in _rows(post, f"{p}d", ("date", "text"))
        ]
        targets = []
        for r in _rows(post, f"{p}g", ("indicator", "op", "value", "value2", "unit", "by")):
            value = [r["value"], r["value2"]] if r["op"] == "between" else r["value"]
            targets.append(
                {
                    "indicator": r["indicator"],
                    "op": r["op"],
                    "value": value,
                    "unit": r["unit"],
                    "by": r["by"] or None,
                    "text": "",
                    "value2": r["value2"] if r["op"] != "between" else "",
                }
            )
        tasks.append(
            {
                "include": bool(post.get(p + "include")),
                "path": [x for x in post.get(p + "path", "").replace("．", ".").split(".") if x.strip()],
                "section": original.get("section") or [],
                "title": post.get(p + "title", "").strip(),
                "text": post.get(p + "text", original.get("text", "")),
                "lead_units": _split_names(post.get(p + "lead", "")),
                "responsible_units": _split_names(post.get(p + "responsible", "")),
                "counties_involved": bool(post.get(p + "counties")),
                "deadlines": deadlines,
                "targets": targets,
            }
        )
    new["tasks"] = tasks
    return new


def _date_or_error(raw, where: str, errors: list[str]) -> str | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        errors.append(f"{where}：“{raw}”不是有效日期，请写作 年-月-日（如 2024-06-30）或用日历选择。")
        return None


def _number_or_error(raw, where: str, errors: list[str]):
    try:
        value = Decimal(str(raw).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        errors.append(f"{where}：“{raw}”不是数字。")
        return None
    if not value.is_finite():
        errors.append(f"{where}：“{raw}”不是数字。")
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _validate(edited: dict, mappings: dict[str, str]) -> tuple[dict, list[str]]:
    """Check every field of the reviewed draft; return it with dates and numbers converted, and every problem
    in Chinese, naming the task (number and 编号) and the field."""
    errors: list[str] = []
    if not (edited.get("title") or "").strip():
        errors.append("文件标题不能为空。")
    if edited.get("issued_on"):
        _date_or_error(edited["issued_on"], "发文日期", errors)
    labels = dict(OPS)
    in_use = {n for t in edited["tasks"] if t["include"] for n in t["lead_units"] + t["responsible_units"]}
    for name, choice in list(mappings.items()):
        if choice == UNCHOSEN and name in in_use:
            errors.append(f"未识别的单位“{name}”：请选择对应的单位、新建单位或忽略。")
        elif choice == UNCHOSEN:
            mappings[name] = ""  # no longer in any task that is imported: nothing to decide
    tasks = []
    for index, task in enumerate(edited["tasks"], start=1):
        if not task["include"]:
            continue
        where = f"第 {index} 项任务（{'.'.join(task['path']) or '无编号'}）"
        if not task["path"]:
            errors.append(f"{where}：编号不能为空。")
        if not task["title"]:
            errors.append(f"{where}：任务名称不能为空。")
        deadlines = []
        for n, d in enumerate(task["deadlines"], start=1):
            date = _date_or_error(d["date"], f"{where}时限第 {n} 行的日期", errors)
            if not d["date"] and not d["text"]:
                continue
            deadlines.append({"date": date, "text": d["text"] or (date or "")})
        targets = []
        for n, t in enumerate(task["targets"], start=1):
            at = f"{where}指标第 {n} 行"
            if not t["indicator"]:
                errors.append(f"{at}：指标名称不能为空。")
            if t["op"] not in OP_CODES:
                errors.append(f"{at}：请选择比较方式（{'、'.join(labels.values())}）。")
            unit = t["unit"]
            if isinstance(t["value"], str) and t["value"].endswith("%"):
                t = {**t, "value": t["value"][:-1].strip()}  # 90% typed in the value box
                unit = unit or "%"
            if t.get("value2"):
                errors.append(f"{at}：只有比较方式为“区间”时才填写上限。")
            if t["op"] == "between":
                lo_raw, hi_raw = (v.rstrip("%").strip() for v in t["value"])
                if t["value"][0].endswith("%") or t["value"][1].endswith("%"):
                    unit = unit or "%"
                if not lo_raw or not hi_raw:
                    errors.append(f"{at}：“区间”需要填写下限和上限两个值。")
                    value = None
                else:
                    lo = _number_or_error(lo_raw, f"{at}的下限", errors)
                    hi = _number_or_error(hi_raw, f"{at}的上限", errors)
                    if lo is not None and hi is not None and lo > hi:
                        errors.append(f"{at}：下限 {lo_raw} 大于上限 {hi_raw}。")
                    value = [lo, hi]
            elif not t["value"]:
                errors.append(f"{at}：目标值不能为空。")
                value = None
            else:
                value = _number_or_error(t["value"], f"{at}的目标值", errors)
            by = _date_or_error(t["by"], f"{at}的到期日", errors)
            targets.append({**t, "value": value, "unit": unit, "by": by})
        tasks.append({**task, "deadlines": deadlines, "targets": targets})
    if not tasks:
        errors.append("没有勾选任何任务：至少导入一项。")
    return {**edited, "tasks": tasks}, errors


def _mappings_from_post(post, draft: dict) -> dict[str, str]:
    return {name: post.get(f"map-{n}", UNCHOSEN) for n, name in enumerate(draft.get("unknown_units", {}))}


@login_required
@require_http_methods(["GET", "POST"])
def plan_review_view(request):
    _secretariat_only(request)
    draft = request.session.get(SESSION_KEY)
    if not draft:
        messages.info(request, "请先粘贴或上传一份文件。")
        return redirect("tasks:extract")
    errors: list[str] = []
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "discard":
        request.session.pop(SESSION_KEY, None)
        messages.info(request, "已放弃本次读取，未写入任何内容。")
        return redirect("tasks:extract")
    if action in ("mode-update", "mode-new") and draft.get("existing"):
        draft["mode"] = "update" if action == "mode-update" else "new"
        request.session[SESSION_KEY] = draft
        return redirect("tasks:plan-review")
    mappings = {}
    if action == "confirm":
        edited = _draft_from_post(request.POST, draft)
        mappings = _mappings_from_post(request.POST, draft)
        checked, errors = _validate(edited, mappings)
        if not errors:
            try:
                done = _confirm(request, draft, checked, mappings)
            except ApplicationError as e:
                errors = [e.message]
            else:
                request.session.pop(SESSION_KEY, None)
                return done
        # keep what the person typed: show the edited values again, not the original extraction
        draft = {
            **draft,
            **{k: v for k, v in edited.items() if k not in ("existing", "mode", "unknown_units")},
        }
    context = _review_context(draft, mappings, errors)
    return render(request, "tasks/plan_review.html", context, status=400 if errors else 200)


def _confirm(request, draft: dict, checked: dict, mappings: dict[str, str]):
    existing = draft.get("existing")
    if existing and draft.get("mode") == "update":
        document = Document.objects.filter(pk=existing["id"]).first()
        if document is None:
            raise ApplicationError("要更新的文件已不在台账中，请重新上传。", field="doc_number")
        remove_ids = [int(x) for x in request.POST.getlist("remove") if x.isdigit()]
        counts = plan_update_confirm(
            draft=checked,
            mappings=mappings,
            document=document,
            versions=existing.get("versions") or {},
            remove_ids=remove_ids,
            actor=request.user,
            request=request,
        )
        messages.success(
            request,
            f"已更新 {document}：新增 {counts['added']} 项、修改 {counts['changed']} 项、不变 {counts['unchanged']} 项、"
            f"删除 {counts['removed']} 项。",
        )
        return redirect(reverse("tasks:list") + f"?document={document.pk}")
    document = plan_import_confirm(draft=checked, mappings=mappings, actor=request.user, request=request)
    messages.success(request, f"已导入 {document}：任务 {document.tasks.count()} 项。")
    return redirect(reverse("tasks:list") + f"?document={document.pk}")


def _value_cells(target: dict) -> tuple[str, str]:
    value = target.get("value")
    if isinstance(value, list):
        return ("" if value[0] is None else str(value[0])), ("" if value[1] is None else str(value[1]))
    return ("" if value is None else str(value)), ""


def _review_context(draft: dict, mappings: dict[str, str], errors: list[str]) -> dict:
    table = unit_lookup_table()
    units = list(Unit.objects.filter(deleted_at__isnull=True).exclude(kind=UnitKind.COUNTY).order_by("name"))
    unknown = draft.get("unknown_units", {})
    diff = None
    if draft.get("existing") and draft.get("mode") == "update":
        document = Document.objects.filter(pk=draft["existing"]["id"]).first()
        if document is not None:
            diff = plan_diff(
                draft={**draft, "tasks": [t for t in draft.get("tasks", []) if t.get("include", True)]},
                document=document,
                table=table,
            )
    actions = {}
    if diff:
        actions.update({a["path"]: "新增" for a in diff["added"]})
        actions.update({c["path"]: "修改" for c in diff["changed"]})
        actions.update({c["path"]: "不变" for c in diff["unchanged"]})
    rows = []
    for i, t in enumerate(draft.get("tasks", [])):
        names = set(t.get("lead_units", []) + t.get("responsible_units", []))
        deadlines = list(t.get("deadlines", [])) + [{"date": "", "text": ""}]
        targets = [{**g, "v1": _value_cells(g)[0], "v2": _value_cells(g)[1]} for g in t.get("targets", [])]
        targets.append({"indicator": "", "op": "", "v1": "", "v2": "", "unit": "", "by": ""})
        key = ".".join(t.get("path", []))
        rows.append(
            {
                "i": i,
                "task": t,
                "path": key,
                "lead": "、".join(t.get("lead_units", [])),
                "responsible": "、".join(t.get("responsible_units", [])),
                "deadlines": deadlines,
                "targets": targets,
                "unknown": sorted(n for n in names if n in unknown),
                "include": t.get("include", True),
                "action": actions.get(key, ""),
            }
        )
    mapping_rows = []
    for n, name in enumerate(unknown):
        candidates = unit_match_candidates(name=name, table=table)
        strong = next((c for c in candidates if c["strong"]), None)
        selected = mappings.get(name) or (str(strong["unit"].pk) if strong else UNCHOSEN)
        mapping_rows.append({"n": n, "name": name, "candidates": candidates, "selected": selected})
    return {
        "draft": draft,
        "rows": rows,
        "mapping_rows": mapping_rows,
        "units": units,
        "errors": errors,
        "ops": OPS,
        "diff": diff,
        "unchosen": UNCHOSEN,
    }


urlpatterns = [
    path("plans/extract/", plan_extract_view, name="extract"),
    path("plans/review/", plan_review_view, name="plan-review"),
]
