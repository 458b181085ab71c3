"""Everything that writes documents and tasks. Every change leaves an audit record and bumps the version."""

import datetime as dt
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from departments.models import Unit, UnitKind
from departments.selectors import resolve_in_table, unit_lookup_table, unit_suggestions
from departments.services import ApplicationError, ConflictError, audit_log
from reform_ledger.db import retry_transaction

from .lights import compute_deadline, compute_open_due
from .models import Document, Milestone, Progress, Target, Task, TaskUnit
from .pace import PACE_FIELDS, pace_schedule, schedule_fields


@dataclass
class MilestoneData:
    date: dt.date | None
    text: str = ""
    context: str = ""
    done: bool = False


@dataclass
class TargetData:
    indicator: str
    op: str
    value: Decimal
    value_high: Decimal | None = None
    unit: str = ""
    due: dt.date | None = None
    baseline: Decimal | None = None
    text: str = ""


@dataclass
class TaskData:
    """What a person (form, API, import) may set on a task. None means "leave as it is" on update."""

    title: str | None = None
    text: str | None = None
    note: str | None = None
    status: str | None = None
    path: list[str] | None = None
    section: list[str] | None = None
    lead_units: list[str] | None = None  # names or aliases
    responsible_units: list[str] | None = None
    counties: list[str] | None = None  # county names, or ["*"] for every county
    milestones: list[MilestoneData] | None = None
    targets: list[TargetData] | None = None
    extra: dict = field(default_factory=dict)


def parse_decimal(value, *, field_name: str, label: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ApplicationError(f"{label}“{value}”不是数字。", field=field_name) from None
    if not number.is_finite():
        raise ApplicationError(f"{label}“{value}”不是有效数字。", field=field_name)
    if abs(number) >= Decimal("1e10"):
        raise ApplicationError(f"{label}“{value}”超出范围。", field=field_name)
    return number


def parse_date(value, *, field_name: str, label: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ApplicationError(
            f"{label}“{value}”不是有效日期（格式 YYYY-MM-DD）。", field=field_name
        ) from None


def milestones_read(items: list[tuple], *, year: int | None = None) -> list["MilestoneData"]:
    """Milestones as a person types them (task form, API): each item is (date, text). The date may be a date,
    YYYY-MM-DD, or a phrase (2022年6月底前, 年底前, 春节前) read by tasks/deadlines.py against the plan's ``year``;
    a text with no date is read the same way when it names one. Several phrases give several milestones; a
    recurring one (每季度末) its dates in the plan's year. A phrase not fully understood is refused with the
    reason, never turned into a guessed date."""
    from .deadlines import parse_deadlines

    out: list[MilestoneData] = []
    from django.utils import timezone

    today = timezone.localdate()
    anchor = dt.date(year, 1, 1) if year and year > today.year else today  # recurring phrases: next dates
    for i, (raw_date, text) in enumerate(items, start=1):
        text = (text or "").strip()
        label = f"第 {i} 个时间节点"
        if isinstance(raw_date, dt.date) or (raw_date or "").strip() == "":
            date = raw_date if isinstance(raw_date, dt.date) else None
            if date is None and text:
                parsed = parse_deadlines(text, year=year, today=anchor)
                if parsed and all((p.date or p.recurring) and not p.warning for p in parsed):
                    out += _milestones_of(parsed, keep_text=text if len(parsed) == 1 else None)
                    continue
            if date is not None or text:
                out.append(MilestoneData(date=date, text=text))
            continue
        raw = str(raw_date).strip()
        try:
            out.append(MilestoneData(date=dt.date.fromisoformat(raw), text=text))
            continue
        except ValueError:
            pass
        parsed = parse_deadlines(raw, year=year, today=anchor)
        for p in parsed:
            if p.invalid:
                raise ApplicationError(f"{label}的日期“{raw}”不是有效日期。", field="milestones")
            if p.warning and not p.date:
                raise ApplicationError(f"{label}的日期“{raw}”无法确定：{p.warning}。", field="milestones")
        out += _milestones_of(parsed, keep_text=text or None)
    return out


def _milestones_of(parsed, *, keep_text: str | None) -> list["MilestoneData"]:
    out = []
    for p in parsed:
        words = keep_text or p.text
        if p.recurring and p.dates:
            out += [MilestoneData(date=d, text=words) for d in p.dates]
        else:
            out.append(MilestoneData(date=p.date, text=words))
    return out


def resolve_units(names: list[str], *, field_name: str, label: str, table=None) -> list[Unit]:
    table = table if table is not None else unit_lookup_table()
    units: list[Unit] = []
    for name in names:
        name = (name or "").strip()
        if not name:
            continue
        unit = resolve_in_table(table, name)
        if unit is None:
            hints = unit_suggestions(name=name, table=table)
            hint = f"，您是否要找：{'、'.join(u.name for u in hints)}" if hints else ""
            raise ApplicationError(f"{label}中的“{name}”不是已知单位{hint}。", field=field_name)
        if unit not in units:
            units.append(unit)
    return units


def _resolve_counties(names: list[str], table) -> list[Unit]:
    if names == ["*"]:
        return list(Unit.objects.filter(kind=UnitKind.COUNTY, deleted_at__isnull=True))
    units = resolve_units(names, field_name="counties", label="县(市、区)", table=table)
    for u in units:
        if u.kind != UnitKind.COUNTY:
            raise ApplicationError(f"“{u.name}”不是县(市、区)政府。", field="counties")
    return units


def task_snapshot(task: Task) -> dict:
    """The task's user-visible state as plain values, for history diffs and the conflict message. One definition
    (tasks.resources.snapshot) for a form edit and the Excel import alike."""
    from .resources import TaskState, snapshot

    return snapshot(TaskState.from_task(task))


FIELD_LABELS = {
    "title": "任务名称",
    "text": "任务内容",
    "note": "备注",
    "status": "进展状态",
    "path": "编号",
    "lead_units": "牵头单位",
    "responsible_units": "责任单位",
    "counties": "县(市、区)",
    "milestones": "时间节点",
    "targets": "量化指标",
    "document": "文件",
}


def diff_snapshots(old: dict, new: dict) -> dict:
    return {k: [old.get(k), new.get(k)] for k in new if old.get(k) != new.get(k)}


def _validate_data(data: TaskData, *, creating: bool):
    if creating or data.title is not None:
        if not (data.title or "").strip():
            raise ApplicationError("任务名称不能为空。", field="title")
        if len(data.title) > 500:
            raise ApplicationError("任务名称不能超过 500 个字。", field="title")
    if data.status is not None and data.status not in Progress.values:
        labels = {v.label: v.value for v in Progress}
        if data.status in labels:
            data.status = labels[data.status]
        else:
            raise ApplicationError(
                f"进展状态“{data.status}”无效，可选：{'、'.join(labels)}。", field="status"
            )
    if creating and not data.path:
        raise ApplicationError("编号不能为空（例如 二.(一).1）。", field="path")
    if data.path is not None:
        # （一） and (一) are the same number; store one spelling so the unique-path rule sees them as equal.
        data.path = [unicodedata.normalize("NFKC", str(p)).strip() for p in data.path]
        if not all(data.path):
            raise ApplicationError("编号中有空的一级（例如 二..1），请检查。", field="path")
    for i, t in enumerate(data.targets or [], start=1):
        if not (t.indicator or "").strip():
            raise ApplicationError(f"第 {i} 个指标缺少指标名称。", field="targets")
        if t.op not in Target.Op.values:
            # Forms and spreadsheets write the sign as people read it (≥, 介于); store the canonical op.
            by_label = {o.label: o.value for o in Target.Op} | {"≧": ">=", "≦": "<=", "＝": "=", "～": "~"}
            t.op = by_label.get((t.op or "").strip(), t.op)
        if t.op not in Target.Op.values:
            raise ApplicationError(
                f"第 {i} 个指标的比较方式“{t.op}”无效，可选：{'、'.join(Target.Op.values)}。", field="targets"
            )
        if t.value is None:
            raise ApplicationError(f"第 {i} 个指标缺少目标值。", field="targets")
        if t.op == Target.Op.BETWEEN and (t.value_high is None or t.value_high < t.value):
            raise ApplicationError(f"第 {i} 个指标为“介于”，需要填写不小于下限的上限值。", field="targets")


def _write_units(task: Task, data: TaskData, table):
    roles = [
        (TaskUnit.Role.LEAD, data.lead_units, "lead_units", "牵头单位"),
        (TaskUnit.Role.RESPONSIBLE, data.responsible_units, "responsible_units", "责任单位"),
    ]
    for role, names, field_name, label in roles:
        if names is None:
            continue
        units = resolve_units(names, field_name=field_name, label=label, table=table)
        TaskUnit.objects.filter(task=task, role=role).delete()
        TaskUnit.objects.bulk_create(
            [TaskUnit(task=task, unit=u, role=role, position=i) for i, u in enumerate(units)]
        )
    if data.counties is not None:
        units = _resolve_counties(data.counties, table)
        TaskUnit.objects.filter(task=task, role=TaskUnit.Role.COUNTY).delete()
        TaskUnit.objects.bulk_create(
            [TaskUnit(task=task, unit=u, role=TaskUnit.Role.COUNTY, position=i) for i, u in enumerate(units)]
        )


def _write_schedule(task: Task, data: TaskData):
    if data.milestones is not None:
        # A form edits date and text only; keep the plan's context sentence and the done flag of unchanged rows.
        previous = {(m.date, m.text): m for m in task.milestones.all()}
        rows = []
        for m in data.milestones:
            old = previous.get((m.date, m.text[:200]))
            context = m.context or (old.context if old else "")
            done = m.done or (old.done if old else False)
            # An approved 延期申请's original date stays with the node while its date is unchanged.
            original = old.original_date if old else None
            rows.append(
                Milestone(
                    task=task,
                    date=m.date,
                    text=m.text[:200],
                    context=context,
                    done=done,
                    original_date=original,
                )
            )
        task.milestones.all().delete()
        Milestone.objects.bulk_create(rows)
    if data.targets is not None:
        # Keep rows (and their reported values) for targets that are still there; match by indicator and op.
        # Prefer the row with the same due date, so two targets on one indicator (2021 and 2022) each keep theirs.
        remaining = list(task.targets.all())

        def take(t: TargetData) -> Target | None:
            for exact in (True, False):
                for obj in remaining:
                    if (obj.indicator, obj.op) == (t.indicator, t.op) and (not exact or obj.due == t.due):
                        remaining.remove(obj)
                        return obj
            return None

        keep = []
        for t in data.targets:
            obj = take(t) or Target(task=task)
            for attr in ("indicator", "op", "value", "value_high", "unit", "due", "baseline"):
                setattr(obj, attr, getattr(t, attr))
            if t.text or obj.pk is None:  # a form that does not carry the plan's wording keeps it
                obj.text = t.text
            obj.value_high = obj.value_high if obj.op == Target.Op.BETWEEN else None
            try:
                obj.full_clean(exclude=["task"])
            except ValidationError as e:
                raise ApplicationError(
                    f"量化指标“{t.indicator}”：{'；'.join(e.messages)}", field="targets"
                ) from None
            obj.save()
            keep.append(obj.pk)
        task.targets.exclude(pk__in=keep).delete()


def task_refresh_schedule(*, task: Task) -> None:
    """Recompute the denormalised dates the light filters and the 序时进度 counts use."""
    task = Task.objects.select_related("document").prefetch_related("milestones", "targets").get(pk=task.pk)
    deadline = compute_deadline(task)
    start = pace_start(pace_starts(documents=[task.document]), task.document_id, task.created_at)
    schedule = pace_schedule(
        status=task.status, start=start, deadline=deadline, milestones=task.milestones.all(),
        targets=task.targets.all(), reported_percent=task.reported_percent,
        reported_period_end=task.reported_period_end,
    )  # fmt: skip
    Task.objects.filter(pk=task.pk).update(
        open_due=compute_open_due(task), deadline=deadline, **schedule_fields(schedule)
    )


def pace_starts(*, documents) -> dict[int, dt.date | None]:
    """Where 序时进度 starts for each plan: its issue date, else the first day of its earliest reporting period
    (reports.Period.document, read through the reverse relation so that tasks does not import reports)."""
    out = {d.pk: d.issued_on for d in documents}
    missing = [pk for pk, day in out.items() if day is None]
    if missing:
        for doc_id, year, quarter in (
            Document.objects.filter(pk__in=missing, periods__isnull=False)
            .order_by("pk", "periods__year", "periods__quarter")
            .values_list("pk", "periods__year", "periods__quarter")
        ):
            if out[doc_id] is None:
                out[doc_id] = dt.date(year, quarter * 3 - 2, 1)
    return out


def pace_start(starts: dict, document_id: int, created_at: dt.datetime) -> dt.date:
    """Where one task's 序时进度 starts: its plan's start (pace_starts), else the day the task was created, in
    Beijing time (a task created at 01:00 on the 3rd is created on the 3rd, not on the UTC date, the 2nd)."""
    if starts.get(document_id):
        return starts[document_id]
    if created_at is None:
        return timezone.localdate()
    return timezone.localdate(created_at) if timezone.is_aware(created_at) else created_at.date()


def tasks_refresh_pace(*, task_ids=None, batch: int = 2000) -> int:
    """Recompute the stored 序时进度 dates of many tasks at once (after a bulk import, scale data, a plan's issue
    date changing). Also re-derives `deadline`. Returns how many tasks changed."""
    qs = Task.objects.order_by("pk")
    if task_ids is not None:
        qs = qs.filter(pk__in=list(task_ids))
    ids = list(qs.values_list("pk", flat=True))
    changed = 0
    for i in range(0, len(ids), batch):
        chunk = ids[i : i + batch]
        tasks = list(Task.objects.filter(pk__in=chunk).select_related("document"))
        starts = pace_starts(documents={t.document_id: t.document for t in tasks}.values())
        milestones: dict[int, list] = {}
        for m in Milestone.objects.filter(task_id__in=chunk):
            milestones.setdefault(m.task_id, []).append(m)
        targets: dict[int, list] = {}
        for t in Target.objects.filter(task_id__in=chunk):
            targets.setdefault(t.task_id, []).append(t)
        dirty = []
        for task in tasks:
            ms, ts = milestones.get(task.pk, []), targets.get(task.pk, [])
            dates = [m.date for m in ms if m.date] + [t.due for t in ts if t.due]
            deadline = max(dates) if dates else None
            schedule = pace_schedule(
                status=task.status, start=pace_start(starts, task.document_id, task.created_at),
                deadline=deadline, milestones=ms, targets=ts, reported_percent=task.reported_percent,
                reported_period_end=task.reported_period_end,
            )  # fmt: skip
            values = {"deadline": deadline, **schedule_fields(schedule)}
            if any(getattr(task, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(task, k, v)
                dirty.append(task)
        _write_pace(dirty)
        changed += len(dirty)
    return changed


def _write_pace(tasks: list[Task]) -> None:
    """Store deadline and the 序时进度 dates of many tasks. On PostgreSQL one UPDATE … FROM (VALUES …) per call:
    bulk_update's CASE per field and row made 20,000 tasks take a minute; this takes about a second."""
    if not tasks:
        return
    fields = ["deadline", *PACE_FIELDS]
    if connection.vendor != "postgresql":
        Task.objects.bulk_update(tasks, fields, batch_size=500)
        return
    types = {"deadline": "date", "pace_fixed": "varchar", "pace_start": "date", "pace_behind_on": "date",
             "pace_ahead_until": "date", "pace_measured": "boolean"}  # fmt: skip
    row = "(" + ", ".join(["%s::bigint"] + [f"%s::{types[f]}" for f in fields]) + ")"
    sets = ", ".join(f"{f} = v.{f}" for f in fields)
    with connection.cursor() as cursor:
        for i in range(0, len(tasks), 1000):
            chunk = tasks[i : i + 1000]
            params = [v for t in chunk for v in (t.pk, *(getattr(t, f) for f in fields))]
            cursor.execute(
                f"UPDATE {Task._meta.db_table} AS t SET {sets} "
                f"FROM (VALUES {', '.join([row] * len(chunk))}) AS v(id, {', '.join(fields)}) WHERE t.id = v.id",
                params,
            )


def tasks_refresh_pace_missing() -> int:
    """The tasks a bulk write path created without their 序时进度 dates (every refresh sets pace_start): run after
    migrate and by the daily figures job, so no path that forgets can leave a task uncounted for long."""
    return tasks_refresh_pace(
        task_ids=Task.objects.filter(pace_start__isnull=True).values_list("pk", flat=True)
    )


def _fresh(task_id: int) -> Task:
    return Task.objects.prefetch_related("task_units__unit", "milestones", "targets").get(pk=task_id)


@retry_transaction
def task_create(*, document: Document, data: TaskData, actor=None, request=None, table=None) -> Task:
    _validate_data(data, creating=True)
    task = Task(
        document=document,
        path=data.path,
        section=data.section or [],
        title=data.title.strip(),
        text=data.text or "",
        note=data.note or "",
        status=data.status or Progress.NOT_STARTED,
    )
    try:
        task.full_clean(exclude=["path_key", "sort_key"], validate_constraints=False)
    except ValidationError as e:
        raise ApplicationError("；".join(e.messages)) from None
    if Task.objects.alive().filter(document=document, path_key=".".join(data.path)).exists():
        raise ApplicationError(f"文件 {document} 中已有编号为 {'.'.join(data.path)} 的任务。", field="path")
    task.save()
    table = table if table is not None else unit_lookup_table()
    _write_units(task, data, table)
    _write_schedule(task, data)
    task_refresh_schedule(task=task)
    task = _fresh(task.pk)
    audit_log(
        actor=actor,
        request=request,
        action="task_create",
        obj=task,
        changes=diff_snapshots({}, task_snapshot(task)),
    )
    return task


@retry_transaction
def task_update(
    *, task: Task, data: TaskData, version: int | None, actor=None, request=None, table=None
) -> Task:
    """Apply a change read at `version`. A stale version is refused with what changed since (no silent overwrite)."""
    locked = Task.objects.select_for_update().get(pk=task.pk)
    if version is None or version == "":
        raise ApplicationError("缺少版本号：请先读取任务再修改。", field="version")
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise ApplicationError(f"版本号“{version}”不是整数。", field="version") from None
    current = _fresh(locked.pk)
    if int(version) != locked.version:
        since = _changes_since(locked, int(version))
        raise ConflictError(
            f"保存被拒绝：此任务在您打开后已被他人修改（当前版本 {locked.version}，您的版本 {version}）。"
            "请刷新后重新修改。",
            field="version",
            extra={"current_version": locked.version, "changes": since},
        )
    _validate_data(data, creating=False)
    before = task_snapshot(current)
    if data.title is not None:
        locked.title = data.title.strip()
    for attr in ("text", "note", "status", "section"):
        if getattr(data, attr) is not None:
            setattr(locked, attr, getattr(data, attr))
    if data.path is not None and data.path != locked.path:
        if (
            Task.objects.alive()
            .filter(document=locked.document, path_key=".".join(data.path))
            .exclude(pk=locked.pk)
            .exists()
        ):
            raise ApplicationError(
                f"文件 {locked.document} 中已有编号为 {'.'.join(data.path)} 的任务。", field="path"
            )
        locked.path = data.path
    table = table if table is not None else unit_lookup_table()
    _write_units(locked, data, table)
    _write_schedule(locked, data)
    after_obj = _fresh(locked.pk)
    after_obj.title, after_obj.text, after_obj.note, after_obj.status = (
        locked.title,
        locked.text,
        locked.note,
        locked.status,
    )
    after_obj.path, after_obj.path_key = locked.path, ".".join(locked.path)
    changes = diff_snapshots(before, task_snapshot(after_obj))
    if not changes:
        return current
    locked.version = F("version") + 1
    locked.save()
    task_refresh_schedule(task=locked)
    audit_log(actor=actor, request=request, action="task_update", obj=locked, changes=changes)
    return _fresh(locked.pk)


VERSIONED_ACTIONS = ("task_update", "task_delete", "task_restore")
ACTION_LABELS = {"task_create": "新建", "task_update": "修改", "task_delete": "删除", "task_restore": "恢复"}


def _changes_since(task: Task, version: int) -> list[dict]:
    """What others changed after `version`, newest last: shown to the person whose save was refused."""
    from django.utils import timezone

    from departments.models import AuditEntry

    # Every action that bumps the version leaves one of these entries, so version N has N-1 of them before it.
    entries = AuditEntry.objects.filter(
        object_type="task", object_id=str(task.pk), action__in=VERSIONED_ACTIONS
    ).order_by("at", "id")
    recent = list(entries)[max(version - 1, 0) :] if version >= 1 else list(entries)
    return [
        {
            "by": e.actor_name,
            "at": timezone.localtime(e.at).isoformat(timespec="seconds"),
            "action": ACTION_LABELS.get(e.action, e.action),
            "changes": {FIELD_LABELS.get(k, k): v for k, v in e.changes.items()},
        }
        for e in recent
    ]


@retry_transaction
def task_set_status(*, task: Task, status: str, actor=None, request=None) -> Task:
    """Status change that is not a person's edit of the task (e.g. an accepted lead report)."""
    return task_update(
        task=task, data=TaskData(status=status), version=task.version, actor=actor, request=request
    )


@retry_transaction
def task_delete(*, task: Task, actor=None, request=None) -> None:
    from django.utils import timezone

    Task.objects.filter(pk=task.pk).update(deleted_at=timezone.now(), version=F("version") + 1)
    audit_log(actor=actor, request=request, action="task_delete", obj=task)


@retry_transaction
def task_restore(*, task: Task, actor=None, request=None) -> None:
    if (
        Task.objects.alive()
        .filter(document=task.document, path_key=task.path_key)
        .exclude(pk=task.pk)
        .exists()
    ):
        raise ApplicationError(f"无法恢复：文件中已有编号为 {task.path_key} 的任务。", field="path")
    Task.objects.filter(pk=task.pk).update(deleted_at=None, version=F("version") + 1)
    audit_log(actor=actor, request=request, action="task_restore", obj=task)


@retry_transaction
def document_upsert(
    *,
    doc_number: str | None,
    title: str,
    issuer: str = "",
    issued_on=None,
    reporting_dates=None,
    source_text="",
    actor=None,
) -> tuple[Document, bool]:
    if not (title or "").strip():
        raise ApplicationError("文件标题不能为空。", field="title")
    lookup = {"doc_number": doc_number} if doc_number else {"doc_number": None, "title": title}
    doc, created = Document.objects.get_or_create(
        **lookup,
        defaults={
            "title": title,
            "issuer": issuer or "",
            "issued_on": issued_on,
            "reporting_dates": reporting_dates or [],
            "source_text": source_text or "",
        },
    )
    if created:
        audit_log(actor=actor, action="document_create", obj=doc)
    return doc, created


@transaction.atomic
def tasks_bulk_save(*, creates: list, updates: list, actor=None, request=None, message: str = "") -> None:
    """Many tasks at once (the Excel import), by the rules of task_create and task_update: a new task at version 1,
    an updated one at its version + 1, open_due and deadline from lights.schedule_dates, one history record each
    with the changed fields old -> new (tasks.resources.snapshot, the format task_snapshot writes). ``creates``:
    TaskStates (their ids are set); ``updates``: (current, after, changed attributes, history diff). The rows go
    in with COPY on PostgreSQL (tasks/bulk.py): 10,000 tasks a few seconds, not minutes."""
    from .bulk import (
        ROLES,
        TASK_INSERT_COLUMNS,
        TASK_UPDATE_COLUMNS,
        MilestoneRow,
        Writer,
        audit_rows,
        sort_key,
    )
    from .lights import schedule_dates
    from .models import path_display
    from .resources import snapshot

    def schedule(state):
        return schedule_dates(
            [(d, done) for d, _t, _c, done in state.milestones], [(t.due, t.is_met) for t in state.targets]
        )

    now = timezone.now()
    writer = Writer(now)
    # 序时进度 dates (tasks.pace) as tasks_refresh_pace would store them, computed here from the values being
    # written and stored with the rows: reading 10,000 tasks back as models and updating them again cost as much
    # as the import itself.
    document_ids = {s.document_id for s in creates} | {cur.document_id for cur, *_ in updates}
    starts = pace_starts(documents=Document.objects.filter(pk__in=document_ids).only("id", "issued_on"))

    def pace(state, deadline, created_at, reported_percent=None, reported_period_end=None) -> tuple:
        fields = schedule_fields(
            pace_schedule(
                status=state.status, start=pace_start(starts, state.document_id, created_at), deadline=deadline,
                milestones=[MilestoneRow(*m) for m in state.milestones], targets=state.targets,
                reported_percent=reported_percent, reported_period_end=reported_period_end,
            )
        )  # fmt: skip
        return tuple(fields[f] for f in PACE_FIELDS)

    audits, units, miles, targets = [], [], [], []

    # Creates
    task_rows = []
    for s in creates:
        open_due, deadline = schedule(s)
        task_rows.append(
            (
                None,
                s.document_id,
                s.path,
                path_display(s.path),
                sort_key(s.path),
                s.section,
                s.title,
                s.text,
                s.note,
                s.status,
                open_due,
                deadline,
                1,
                now,
                now,
                *pace(s, deadline, now),
            )
        )
    if writer.pg:
        for i, pk in enumerate(writer.new_ids(Task, len(task_rows))):
            task_rows[i] = (pk, *task_rows[i][1:])
        ids = writer.insert(Task, TASK_INSERT_COLUMNS, task_rows)
    else:
        ids = writer.insert(Task, TASK_INSERT_COLUMNS[1:], [r[1:] for r in task_rows])
    for s, pk, row in zip(creates, ids, task_rows, strict=True):
        s.id = pk
        for role, attr in ROLES:
            units += [(pk, u.id, role, i) for i, u in enumerate(getattr(s, attr))]
        miles += [(pk, d, t, c, done) for d, t, c, done in s.milestones]
        targets += [
            (pk, t.indicator, t.op, t.value, t.value_high, t.unit, t.due, t.text)
            for t in s.targets
            if t.pk is None
        ]
        audits.append(("task_create", pk, f"{row[3]} {row[6]}", diff_snapshots({}, snapshot(s))))

    # Updates
    changed_rows, unit_roles, mile_tasks = [], [], []
    for cur, after, changed, history in updates:
        open_due, deadline = schedule(after)
        changed_rows.append(
            (
                cur.id,
                after.path,
                after.path_key,
                sort_key(after.path),
                after.title,
                after.text,
                after.note,
                after.status,
                after.version,
                open_due,
                deadline,
                now,
                *pace(after, deadline, cur.created_at, cur.reported_percent, cur.reported_period_end),
            )
        )
        for role, attr in ROLES:
            if attr in changed:
                unit_roles.append((cur.id, role))
                units += [(cur.id, u.id, role, i) for i, u in enumerate(getattr(after, attr))]
        if "milestones" in changed:
            mile_tasks.append(cur.id)
            miles += [(cur.id, d, t, c, done) for d, t, c, done in after.milestones]
        audits.append(("task_update", cur.id, f"{after.path_key} {after.title}", history))
    writer.update(Task, TASK_UPDATE_COLUMNS, changed_rows)
    by_role = defaultdict(list)
    for task_id, role in unit_roles:
        by_role[role].append(task_id)
    for role, task_ids in by_role.items():
        writer.delete_children(TaskUnit, task_ids, role=role)
    writer.delete_children(Milestone, mile_tasks)
    writer.insert(TaskUnit, ["task_id", "unit_id", "role", "position"], units)
    writer.insert(Milestone, ["task_id", "date", "text", "context", "done"], miles)
    # a new task's targets read from its row (tasks.ledger_cells.row_targets)
    writer.insert(
        Target, ["task_id", "indicator", "op", "value", "value_high", "unit", "due", "text"], targets
    )
    audit_rows(audits, actor=actor, request=request, writer=writer, message=message)
