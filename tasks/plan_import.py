"""From a published plan to a draft ledger, and from the reviewed draft to tasks in the ledger.

The extraction engine (tasks/extraction) knows nothing of Django; this module feeds it the unit names and
aliases from the database and writes what a person confirmed.
"""

# The engine is imported inside the functions: it is pure Python and only needed when a plan is read.
import datetime as dt
from decimal import Decimal

from django.db import transaction

from departments.models import Unit, UnitAlias, UnitKind
from departments.selectors import resolve_in_table, unit_lookup_table, unit_match_candidates
from departments.services import ApplicationError, audit_log, unit_add_alias

from .models import Document, Task
from .services import (
    FIELD_LABELS,
    MilestoneData,
    TargetData,
    TaskData,
    document_upsert,
    parse_date,
    parse_decimal,
    task_create,
    task_delete,
    task_update,
)
from .signals import plan_imported

MAX_PLAN_CHARS = 300_000


def resolver_from_db():
    from .extraction import UnitResolver

    aliases = {
        a.alias: a.unit.name for a in UnitAlias.objects.select_related("unit") if a.unit.deleted_at is None
    }
    names = []
    for unit in Unit.objects.filter(deleted_at__isnull=True).exclude(kind=UnitKind.COUNTY):
        names.append(unit.name)
        if unit.short_name:
            aliases.setdefault(unit.short_name, unit.name)
    return UnitResolver(aliases, names)


def plan_read(*, data: bytes, filename: str) -> str:
    from .extraction import ExtractionError, read_plan_file

    try:
        return read_plan_file(data, filename=filename)
    except ExtractionError as e:
        raise ApplicationError(e.message, field="file") from None


def plan_extract(*, text: str) -> dict:
    """Extract a draft ledger; annotate every unknown unit name with the closest known units."""
    text = (text or "").strip()
    if not text:
        raise ApplicationError("没有可读取的文本：请粘贴文件正文或上传文件。", field="text")
    if len(text) > MAX_PLAN_CHARS:
        raise ApplicationError(f"文本过长（{len(text)} 字），上限为 {MAX_PLAN_CHARS} 字。", field="text")
    from .extraction import ExtractionError, extract_plan

    try:
        result = extract_plan(text, resolver_from_db())
    except ExtractionError as e:
        raise ApplicationError(e.message, field="text") from None
    if not result.get("tasks"):
        raise ApplicationError(
            "未在文本中找到编号的任务（如“一、”“(一)”“1.”），请确认粘贴的是实施方案或任务分工。", field="text"
        )
    table = unit_lookup_table()
    unknown: dict[str, list[str]] = {}
    for task in result["tasks"]:
        for name in task.get("lead_units", []) + task.get("responsible_units", []):
            if resolve_in_table(table, name) is None and name not in unknown:
                unknown[name] = [c["unit"].name for c in unit_match_candidates(name=name, table=table)]
    result["unknown_units"] = unknown
    return result


def _draft_task_data(task: dict, *, index: int) -> TaskData:
    label = f"第 {index} 项任务"
    milestones = [
        MilestoneData(
            date=parse_date(d.get("date"), field_name="deadlines", label=f"{label}的时限"),
            text=(d.get("text") or "")[:200],
            context=d.get("context") or "",
        )
        for d in task.get("deadlines", [])
    ]
    targets = []
    for t in task.get("targets", []):
        value, high = (t.get("value"), None) if not isinstance(t.get("value"), list) else t["value"]
        targets.append(
            TargetData(
                indicator=(t.get("indicator") or "").strip(),
                op=t.get("op") or "",
                value=parse_decimal(value, field_name="targets", label=f"{label}的目标值"),
                value_high=parse_decimal(high, field_name="targets", label=f"{label}的目标上限"),
                unit=t.get("unit") or "",
                due=parse_date(t.get("by"), field_name="targets", label=f"{label}的指标到期日"),
                text=t.get("text") or "",
            )
        )
    return TaskData(
        path=[str(p) for p in task.get("path", [])],
        section=task.get("section") or [],
        title=(task.get("title") or "").strip(),
        text=task.get("text") or "",
        lead_units=task.get("lead_units") or [],
        responsible_units=task.get("responsible_units") or [],
        counties=["*"] if task.get("counties_involved") else [],
        milestones=milestones,
        targets=targets,
    )


def plan_existing_document(*, doc_number: str | None, title: str | None = None) -> Document | None:
    """The plan already in the ledger under this 文号 (a plan without 文号: under this exact title), if any:
    checked before the review, not after it."""
    doc_number = (doc_number or "").strip()
    if doc_number:
        return Document.objects.filter(doc_number=doc_number).first()
    title = (title or "").strip()
    return Document.objects.filter(doc_number__isnull=True, title=title).first() if title else None


def _milestones_label(deadlines: list[dict]) -> str:
    return "；".join(
        f"{d['date']}" + (f"（{d['text']}）" if d.get("text") else "")
        if d.get("date")
        else (d.get("text") or "")
        for d in deadlines
    )


def _targets_label(targets: list[dict]) -> str:
    """The draft's targets written as the ledger shows a task's targets (县域就诊率≥90%（2022-12-31）)."""
    from .models import Target

    parts = []
    for t in targets:
        low, high = t.get("value") if isinstance(t.get("value"), list) else (t.get("value"), None)
        try:
            value = Decimal(str(low))
            value_high = Decimal(str(high)) if high not in (None, "") else None
            label = Target(
                indicator=t.get("indicator") or "",
                op=t.get("op") or "=",
                value=value,
                value_high=value_high,
                unit=t.get("unit") or "",
            ).label
        except (ArithmeticError, ValueError, KeyError):
            label = f"{t.get('indicator') or ''}{t.get('op') or ''}{low}"
        parts.append(label + (f"（{t['by']}）" if t.get("by") else ""))
    return "；".join(parts)


def plan_diff(*, draft: dict, document: Document, table: dict | None = None) -> dict:
    """The draft against the plan in the ledger, task by task (matched on the path 二.(一).1):
    ``added`` / ``changed`` (with Chinese field names, old → new) / ``removed`` / ``unchanged``."""
    from .services import task_snapshot

    table = table if table is not None else unit_lookup_table()
    existing = {
        t.path_key: t
        for t in Task.objects.alive()
        .filter(document=document)
        .prefetch_related("task_units__unit", "milestones", "targets")
    }

    def names(raw: list[str]) -> str:
        out = []
        for name in raw:
            unit = resolve_in_table(table, name)
            out.append(unit.name if unit else name)
        return "、".join(out)

    added, changed, unchanged = [], [], []
    seen = set()
    for task in draft.get("tasks", []):
        key = ".".join(task.get("path", []))
        seen.add(key)
        old_task = existing.get(key)
        if old_task is None:
            added.append({"path": key, "title": task.get("title", "")})
            continue
        old = task_snapshot(old_task)
        new = {
            "title": (task.get("title") or "").strip(),
            "lead_units": names(task.get("lead_units") or []),
            "responsible_units": names(task.get("responsible_units") or []),
            "milestones": _milestones_label(task.get("deadlines") or []),
            "targets": _targets_label(task.get("targets") or []),
            "text": task.get("text") or "",
        }
        diffs = {FIELD_LABELS[k]: [old.get(k), v] for k, v in new.items() if (old.get(k) or "") != (v or "")}
        entry = {
            "path": key,
            "title": new["title"],
            "id": old_task.pk,
            "version": old_task.version,
            "changes": diffs,
        }
        (changed if diffs else unchanged).append(entry)
    removed = [{"path": k, "title": t.title, "id": t.pk} for k, t in existing.items() if k not in seen]
    return {"added": added, "changed": changed, "removed": removed, "unchanged": unchanged}


def _apply_mappings(mappings: dict[str, str], *, actor=None, request=None) -> set[str]:
    """Aliases and new units for the names a person mapped; the names to drop from the tasks."""
    dropped = set()
    for name, choice in mappings.items():
        if choice == "new":
            unit, created = Unit.objects.get_or_create(name=name, defaults={"kind": UnitKind.DEPARTMENT})
            if created:
                audit_log(actor=actor, request=request, action="unit_create", obj=unit)
        elif choice:
            unit = Unit.objects.filter(pk=choice, deleted_at__isnull=True).first()
            if unit is None:
                raise ApplicationError(f"“{name}”对应的单位不存在。", field="mappings")
            unit_add_alias(unit=unit, alias=name, actor=actor)
        else:
            dropped.add(name)
    return dropped


@transaction.atomic
def plan_import_confirm(*, draft: dict, mappings: dict[str, str], actor=None, request=None) -> Document:
    """Write a reviewed draft: new aliases for the mappings a person confirmed, the document, its tasks, and
    reporting periods from the report-back dates. All or nothing.

    `mappings` maps each unknown name to a unit id (becomes an alias of that unit), "new" (a new department
    is created under that name) or "" (the name is dropped from the task).
    """
    if not draft.get("tasks"):
        raise ApplicationError("草稿中没有任务。", field="tasks")
    doc_number = (draft.get("doc_number") or "").strip() or None
    if doc_number and Document.objects.filter(doc_number=doc_number).exists():
        raise ApplicationError(
            f"文号 {doc_number} 的文件已在台账中，不能重复导入：请修改文号，或选择“更新已有文件”。",
            field="doc_number",
        )
    title = (draft.get("title") or "").strip()
    if not doc_number and Document.objects.filter(doc_number__isnull=True, title=title).exists():
        raise ApplicationError(
            f"标题为“{title}”的文件（无文号）已在台账中，不能重复导入：请填写文号或修改标题，或选择“更新已有文件”。",
            field="title",
        )
    dropped = _apply_mappings(mappings, actor=actor, request=request)
    issued_on = parse_date(draft.get("issued_on"), field_name="issued_on", label="发文日期")
    document, _ = document_upsert(
        doc_number=doc_number,
        title=(draft.get("title") or "").strip(),
        issuer=draft.get("issuer") or "",
        issued_on=issued_on,
        reporting_dates=draft.get("reporting_dates") or [],
        source_text=draft.get("source_text") or "",
        actor=actor,
    )
    table = unit_lookup_table()
    seen_paths = set()
    for index, task in enumerate(draft["tasks"], start=1):
        data = _draft_task_data(task, index=index)
        data.lead_units = [n for n in data.lead_units if n not in dropped]
        data.responsible_units = [n for n in data.responsible_units if n not in dropped]
        key = ".".join(data.path)
        if key in seen_paths:
            raise ApplicationError(f"第 {index} 项任务的编号 {key} 与前面的任务重复。", field="path")
        seen_paths.add(key)
        try:
            task_create(document=document, data=data, actor=actor, request=request, table=table)
        except ApplicationError as e:
            raise ApplicationError(f"第 {index} 项任务（{key}）：{e.message}", field=e.field) from None
    # The reporting periods of the plan's report-back dates are the reports app's (it listens; same transaction).
    plan_imported.send(
        sender=Document,
        document=document,
        reporting_dates=draft.get("reporting_dates") or [],
        year=issued_on.year if issued_on else dt.date.today().year,
        actor=actor,
        request=request,
    )
    audit_log(
        actor=actor,
        request=request,
        action="plan_import",
        obj=document,
        message=f"从文件读取导入任务 {len(draft['tasks'])} 项",
    )
    return document


@transaction.atomic
def plan_update_confirm(
    *,
    draft: dict,
    mappings: dict[str, str],
    document: Document,
    versions: dict[str, int],
    remove_ids: list[int],
    actor=None,
    request=None,
) -> dict:
    """Bring a plan already in the ledger up to a reviewed draft: new paths become tasks, tasks on the same path
    take the draft's values (refused if someone changed them since the diff was shown: `versions`), and the tasks
    a person ticked for removal are deleted (restorable). All or nothing. Returns the counts."""
    if not draft.get("tasks"):
        raise ApplicationError("草稿中没有任务。", field="tasks")
    dropped = _apply_mappings(mappings, actor=actor, request=request)
    table = unit_lookup_table()
    existing = {t.path_key: t for t in Task.objects.alive().filter(document=document)}
    counts = {"added": 0, "changed": 0, "unchanged": 0, "removed": 0}
    seen_paths = set()
    for index, task in enumerate(draft["tasks"], start=1):
        data = _draft_task_data(task, index=index)
        data.lead_units = [n for n in data.lead_units if n not in dropped]
        data.responsible_units = [n for n in data.responsible_units if n not in dropped]
        key = ".".join(data.path)
        if key in seen_paths:
            raise ApplicationError(f"第 {index} 项任务的编号 {key} 与前面的任务重复。", field="path")
        seen_paths.add(key)
        try:
            if key in existing:
                old = existing[key]
                data.section = None  # headings above a task are not the reviewer's to change here
                updated = task_update(
                    task=old,
                    data=data,
                    version=versions.get(key, old.version),
                    actor=actor,
                    request=request,
                    table=table,
                )
                counts["changed" if updated.version != old.version else "unchanged"] += 1
            else:
                task_create(document=document, data=data, actor=actor, request=request, table=table)
                counts["added"] += 1
        except ApplicationError as e:
            raise ApplicationError(f"第 {index} 项任务（{key}）：{e.message}", field=e.field) from None
    for task in Task.objects.alive().filter(document=document, pk__in=remove_ids or []):
        if task.path_key in seen_paths:
            continue  # still in the plan: never delete what the draft keeps
        task_delete(task=task, actor=actor, request=request)
        counts["removed"] += 1
    issued_on = parse_date(draft.get("issued_on"), field_name="issued_on", label="发文日期")
    new_fields = {
        "title": (draft.get("title") or "").strip() or document.title,
        "issuer": draft.get("issuer") or "",
        "issued_on": issued_on,
        "reporting_dates": draft.get("reporting_dates") or [],
        "source_text": draft.get("source_text") or document.source_text,
    }
    changes = {
        k: [str(getattr(document, k) or ""), str(v or "")]
        for k, v in new_fields.items()
        if getattr(document, k) != v and k != "source_text"
    }
    for key, value in new_fields.items():
        setattr(document, key, value)
    document.full_clean()
    document.save()
    plan_imported.send(  # report-back dates new in this version open their periods too (idempotent)
        sender=Document,
        document=document,
        reporting_dates=new_fields["reporting_dates"],
        year=issued_on.year if issued_on else dt.date.today().year,
        actor=actor,
        request=request,
    )
    audit_log(
        actor=actor,
        request=request,
        action="plan_update",
        obj=document,
        changes=changes or None,
        message=f"按新读取的文件更新：新增 {counts['added']} 项，修改 {counts['changed']} 项，删除 {counts['removed']} 项",
    )
    return counts


def json_ready(result: dict) -> dict:
    """Decimals and dates as JSON values (the engine already returns plain values; this guards extensions)."""

    def conv(v):
        if isinstance(v, Decimal):
            return int(v) if v == v.to_integral_value() else float(v)
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        return v

    return conv(result)
