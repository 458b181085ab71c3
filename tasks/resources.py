"""The Excel column mapping of the ledger (标准台账格式), one place for the export and the import.

`LEDGER_COLUMNS` is the layout offices use; `task_cells` turns a task into the text of those cells
(tasks/sheets.py writes them, tasks/excel.py reads them back). The ledger does not go through
django-import-export: with validation it manages a few hundred rows per second, far from the 5,000 rows/s the
offices' 10,000-task ledgers need. django-import-export does the administrator's units, aliases and accounts
(departments/resources.py).
"""

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from .models import Progress, Task, path_numbering


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: float
    synonyms: tuple[str, ...] = ()
    group: str = ""  # second header row: columns under one merged group heading


PERIOD_GROUP = "本期工作情况"

LEDGER_COLUMNS: list[Column] = [
    Column("seq", "序号", 8, ("编号", "序", "排序")),
    Column(
        "source", "任务来源(文件/文号)", 18, ("任务来源", "文件", "文号", "来源", "文件/文号", "依据文件")
    ),
    Column("title", "重点任务", 28, ("任务名称", "重点工作任务", "工作任务", "任务", "重点工作", "主要任务")),
    Column(
        "text",
        "目标任务/指标",
        48,
        ("目标任务", "任务内容", "具体内容", "目标任务及指标", "工作内容", "指标", "主要内容"),
    ),
    Column("lead", "牵头单位", 16, ("牵头部门", "牵头", "牵头责任单位")),
    Column("responsible", "责任单位", 22, ("责任部门", "配合单位", "参与单位", "协办单位")),
    Column("deadline", "完成时限", 14, ("时间节点", "完成时间", "时限", "完成期限", "时限要求")),
    Column("progress", "本期进展情况", 36, ("进展情况", "工作进展", "进展", "推进情况"), PERIOD_GROUP),
    Column("problems", "存在问题", 24, ("问题", "存在的问题", "困难问题"), PERIOD_GROUP),
    Column("next_steps", "下步打算", 24, ("下步计划", "下一步打算", "下一步工作"), PERIOD_GROUP),
    Column("status", "完成状态", 10, ("进展状态", "状态", "完成情况")),
    Column("note", "备注", 14, ()),
    Column("ref", "系统编号(请勿修改)", 14, ("系统编号",)),
]
COLUMN_BY_KEY = {c.key: c for c in LEDGER_COLUMNS}
# Columns a re-import compares; the period columns belong to reports, not to the task.
EDITABLE_KEYS = ("source", "title", "text", "lead", "responsible", "deadline", "status", "note")
ALL_COUNTIES_TEXT = "各县(市、区)政府"


def document_label(document) -> str:
    return document.doc_number or document.title


@dataclass(slots=True)
class TaskState:
    """A task as plain values: what the Excel export writes and the import compares, loaded in a few queries."""

    id: int | None
    version: int
    document_id: int | None
    document_label: str
    path: list[str]
    title: str
    text: str
    note: str
    status: str
    lead: list  # Units, in order
    responsible: list
    counties: list
    milestones: list  # [(date|None, text, context, done)]
    targets: list = field(default_factory=list)  # Target objects (for lights and the history snapshot)
    section: list = field(default_factory=list)
    # What else 序时进度 (tasks/pace.py) reads of a stored task: when it was created, the latest reported percent
    # and period end. None for a task not yet written.
    created_at: dt.datetime | None = None
    reported_percent: int | None = None
    reported_period_end: dt.date | None = None

    @property
    def path_key(self) -> str:
        return ".".join(self.path)

    @classmethod
    def from_task(cls, task: Task) -> "TaskState":
        return cls(
            id=task.pk,
            version=task.version,
            document_id=task.document_id,
            document_label=document_label(task.document),
            path=list(task.path),
            title=task.title,
            text=task.text,
            note=task.note,
            status=task.status,
            lead=task.lead_units,
            responsible=task.responsible_units,
            counties=task.counties,
            milestones=[(m.date, m.text, m.context, m.done) for m in task.milestones.all()],
            targets=list(task.targets.all()),
            section=list(task.section or []),
        )


STATUS_LABELS = {p.value: p.label for p in Progress}


def milestones_text(milestones) -> str:
    # date.isoformat() is YYYY-MM-DD, as f"{date:%Y-%m-%d}" writes it, without strftime's cost per row.
    return "；".join((text or (date.isoformat() if date else "")) for date, text, *_ in milestones).strip(
        "；"
    )


def responsible_text(state: TaskState, *, county_count: int) -> str:
    names = [u.name for u in state.responsible]
    if state.counties and county_count and len(state.counties) >= county_count:
        names.append(ALL_COUNTIES_TEXT)
    else:
        names += [u.name for u in state.counties]
    return "、".join(names)


def task_cells(state: TaskState, *, county_count: int, report=None) -> dict[str, str]:
    """The ledger cells of a task as text."""
    return {
        "seq": path_numbering(state.path),
        "source": state.document_label,
        "title": state.title,
        "text": state.text,
        "lead": "、".join(u.name for u in state.lead),
        "responsible": responsible_text(state, county_count=county_count),
        "deadline": milestones_text(state.milestones),
        "progress": report[0] if report else "",
        "problems": report[1] if report else "",
        "next_steps": report[2] if report else "",
        "status": STATUS_LABELS[state.status],
        "note": state.note,
    }


_SNAPSHOT = {
    "title": lambda s: s.title,
    "text": lambda s: s.text,
    "note": lambda s: s.note,
    "status": lambda s: STATUS_LABELS[s.status],
    "path": lambda s: s.path_key,
    "lead_units": lambda s: "、".join(u.name for u in s.lead),
    "responsible_units": lambda s: "、".join(u.name for u in s.responsible),
    "counties": lambda s: "、".join(u.name for u in s.counties),
    "milestones": lambda s: "；".join(
        d.isoformat() + (f"（{t}）" if t else "") if d else t for d, t, *_ in s.milestones
    ),
    "targets": lambda s: "；".join(
        t.label + (f"（{t.due.isoformat()}）" if t.due else "") for t in s.targets
    ),
}
# The snapshot key each TaskState attribute an import can change feeds.
SNAPSHOT_KEY = {
    "title": "title",
    "text": "text",
    "note": "note",
    "status": "status",
    "path": "path",
    "lead": "lead_units",
    "responsible": "responsible_units",
    "counties": "counties",
    "milestones": "milestones",
}


def snapshot(state: TaskState, keys: set | None = None) -> dict:
    """Same keys and wording as tasks.services.task_snapshot, for the task history; only `keys` when given."""
    return {k: f(state) for k, f in _SNAPSHOT.items() if keys is None or k in keys}


def normalize_cell(value: str) -> str:
    return (value or "").replace("\r\n", "\n").strip()


def row_fingerprint(path_key: str, cells: dict[str, str]) -> str:
    """A short hash of what the export wrote, so a re-import can tell rows someone edited from untouched ones."""
    text = "\x1f".join([path_key] + [normalize_cell(cells.get(k, "")) for k in EDITABLE_KEYS])
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def ref_text(state: TaskState, cells: dict[str, str]) -> str:
    """The hidden stable reference: id, version read, fingerprint of the exported row."""
    return f"T{state.id}:v{state.version}:{row_fingerprint(state.path_key, cells)}"


def parse_ref(value: str) -> tuple[int, int, str] | None:
    value = (value or "").strip()
    parts = value.split(":")
    if len(parts) != 3 or not parts[0].startswith("T") or not parts[1].startswith("v"):
        return None
    try:
        return int(parts[0][1:]), int(parts[1][1:]), parts[2]
    except ValueError:
        return None
