"""What an import preview says: each row's plan (created, updated with old -> new, unchanged, flagged), conflicts
with edits made in the app since the export, the plan the rows go into, the units to create, and the JSON
CONTRACT.md gives for `import_ledger --json`."""

from __future__ import annotations

from dataclasses import dataclass, field

from .deadlines import ParsedDeadline
from .excel import (
    RowError,
)
from .ledger_cells import row_targets, segment_like
from .ledger_table import FIELDS, Header
from .models import Document, path_display, path_segment_number
from .resources import (
    TaskState,
    normalize_cell,
)

# The snapshot keys (task history) in the JSON preview's "changes".
CHANGE_NAMES = {"milestones": "deadlines"}
CHANGE_LABELS = {
    "title": "任务名称", "text": "任务内容", "note": "备注", "status": "进展状态", "path": "编号", "lead_units": "牵头单位",
    "responsible_units": "责任单位", "counties": "县(市、区)", "deadlines": "完成时限",
}  # fmt: skip


@dataclass(eq=False)
class NewUnit:
    """A unit the import will create (--add-units, or '新建' in the preview)."""

    name: str
    kind: str
    id: int | None = None
    sort_order: int = 0


# --------------------------------------------------------------------------------------------------- results


@dataclass
class Conflict:
    row: int
    task_id: int
    path: str
    title: str
    file_version: int
    current_version: int

    def __str__(self):
        return (
            f"第 {self.row} 行（{self.path} {self.title}）：导出后此任务已在系统中被修改"
            f"（文件中版本 {self.file_version}，当前版本 {self.current_version}），未覆盖。请重新导出后再修改。"
        )


@dataclass(slots=True)
class RowPlan:
    row: int
    document_key: str
    path: list[str]
    section: list[str]
    state: TaskState  # the task as it will be
    existing: TaskState | None = None
    changed: set | frozenset = frozenset()  # assigned, never changed in place: one empty set for every row
    deadlines: list[ParsedDeadline] = field(default_factory=list)
    warnings: list[str] | tuple = ()  # a row without any shares the empty tuple; a list once one is added
    action: str = "create"
    changes: dict | None = None
    flagged: str | None = None  # why updating the matched task looks wrong (a markedly different title)
    as_new: bool = False
    after: TaskState | None = None  # the task as the update leaves it
    audit: dict | None = None  # its history record: {snapshot key: [old, new]}
    ref: tuple | None = None  # the hidden reference of an exported row: (task id, version, fingerprint)
    untouched: bool = False  # an exported row nobody edited in the file
    status_given: bool = False

    @property
    def change_rows(self) -> list[tuple[str, str, str]]:
        """(Chinese field name, old, new) for the preview page."""
        return [
            (CHANGE_LABELS.get(k, k), old or "（空）", new or "（空）")
            for k, (old, new) in (self.changes or {}).items()
        ]

    @property
    def new_targets(self) -> list:
        """The numeric targets read from the row (row_targets): given to a new task only; an existing task keeps
        its own, which may have been edited since."""
        return self.targets() if self.action == "create" else []

    def targets(self) -> list:
        """Read when asked (the preview's page, the write), not kept: 40,000 rows of unsaved Target objects took
        20 MB of a preview's memory (bench/bench_upload_memory.py)."""
        return row_targets(self.state.text or self.state.title, self.deadlines)

    @property
    def action_label(self) -> str:
        return {"create": "新建", "update": "更新", "unchanged": "未变"}[self.action]

    def as_dict(self, county_count: int) -> dict:
        s = self.state
        return {
            "row": self.row,
            "path": list(s.path),
            "title": s.title,
            "lead_units": [u.name for u in s.lead],
            "responsible_units": [u.name for u in s.responsible],
            "counties_involved": bool(s.counties),
            "deadlines": [d.as_dict() for d in self.deadlines],
            "action": self.action,
            "changes": self.changes or {},
        }


@dataclass
class DocumentChoice:
    """Where the rows go: an existing plan, or a new one (文号 and title editable in the preview)."""

    document: Document | None
    doc_number: str | None
    title: str
    created: bool
    from_column: bool = False  # rows name their plan in a column of their own

    def as_dict(self) -> dict:
        return {"doc_number": self.doc_number, "title": self.title, "created": self.created}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    new_documents: list[str] = field(default_factory=list)
    rows: int = 0
    written: bool = False
    changes: list[dict] = field(default_factory=list)  # [{row, path, title, fields}] for the preview
    header: Header | None = None
    document: DocumentChoice | None = None
    plans: list[RowPlan] = field(default_factory=list)
    unknown_units: dict[str, list[str]] = field(default_factory=dict)  # name as written -> suggestions
    kept_names: list[str] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    county_count: int = 0
    column_choices: list[tuple[int, str]] = field(default_factory=list)  # (index, "E 列：牵头部门")
    sheet_choices: list[tuple[str, int]] = field(
        default_factory=list
    )  # (sheet, rows) of the sheets with content
    row_choices: list[tuple[int, str]] = field(default_factory=list)  # (Excel row, its text) to choose from
    converted: bytes | None = None  # the .xlsx LibreOffice made of a workbook python-calamine could not read
    strong_matches: dict[str, int] = field(default_factory=dict)  # unknown name -> the unit it clearly means

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def warnings(self) -> int:
        return sum(len(p.warnings) for p in self.plans)

    @property
    def mapping_rows(self) -> list[dict]:
        """The fields the import reads, with the column each one came from (for the mapping form)."""
        columns = self.header.columns if self.header else {}
        return [
            {
                "key": k,
                "label": FIELDS[k][1],
                "index": columns.get(k),
                "header": self.header.headers.get(k) if self.header else None,
            }
            for k in ("seq", "title", "text", "lead", "responsible", "deadline", "status", "note", "source")
        ]

    @property
    def error_rows(self) -> int:
        """Rows with an error that are therefore not in the row list."""
        listed = {p.row for p in self.plans}
        return len({e.row for e in self.errors} - listed)

    @property
    def flagged(self) -> list[RowPlan]:
        return [p for p in self.plans if p.flagged and not p.as_new]

    def as_json(self) -> dict:
        """The preview as CONTRACT.md writes it for `import_ledger --json`."""
        header = self.header
        return {
            "document": self.document.as_dict()
            if self.document
            else {"doc_number": None, "title": "", "created": False},
            "sheet": header.sheet if header else "",
            "header_row": header.header_row if header else 0,
            "columns": {
                FIELDS[k][0]: header.headers[k] for k in sorted(header.columns, key=header.columns.get)
            }
            if header
            else {},
            "summary": {
                "created": self.created,
                "updated": self.updated,
                "unchanged": self.unchanged,
                "errors": len(self.errors),
                "warnings": self.warnings,
            },
            "rows": [p.as_dict(self.county_count) for p in self.plans],
            "unknown_units": [{"name": n, "suggestions": s} for n, s in self.unknown_units.items()],
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in self.errors],
        }


# --------------------------------------------------------------------------------------------------- matching


def free_path(path: list[str], document_id, taken: set) -> list[str]:
    """The next free number under the same parent, written like the last segment."""
    n = path_segment_number(path[-1]) + 1
    while True:
        candidate = [*path[:-1], segment_like(path[-1], n)]
        if (document_id, path_display(candidate)) not in taken:
            taken.add((document_id, path_display(candidate)))
            return candidate
        n += 1


def merged_state(cur: TaskState, new: TaskState, changed: set) -> TaskState:
    """The task after the import: the row's values for the changed attributes, the task's own for the rest."""
    return TaskState(
        id=cur.id, version=cur.version + 1, document_id=cur.document_id, document_label=cur.document_label,
        path=new.path if "path" in changed else cur.path,
        title=new.title if "title" in changed else cur.title,
        text=new.text if "text" in changed else cur.text,
        note=new.note if "note" in changed else cur.note,
        status=new.status if "status" in changed else cur.status,
        lead=new.lead if "lead" in changed else cur.lead,
        responsible=new.responsible if "responsible" in changed else cur.responsible,
        counties=new.counties if "counties" in changed else cur.counties,
        milestones=new.milestones if "milestones" in changed else cur.milestones,
        targets=cur.targets, section=cur.section,
    )  # fmt: skip


def changed_fields(plan: RowPlan, current: TaskState, status_given: bool, county_count: int) -> set:
    new = plan.state
    changed = set()
    for attr in ("title", "text", "note"):
        a, b = getattr(new, attr), getattr(current, attr)
        if a != b and normalize_cell(a) != normalize_cell(b):
            changed.add(attr)
    if status_given and new.status != current.status:
        changed.add("status")
    # The current task's units all have ids; a unit the import will create (NewUnit) has none, so differs.
    if [u.id for u in new.lead] != [u.id for u in current.lead]:
        changed.add("lead")
    if [u.id for u in new.responsible] != [u.id for u in current.responsible]:
        changed.add("responsible")
    if {u.id for u in new.counties} != {u.id for u in current.counties} or None in {
        u.id for u in new.counties
    }:
        changed.add("counties")
    old_text = "；".join((t or (f"{d:%Y-%m-%d}" if d else "")) for d, t, *_ in current.milestones)
    new_text = "；".join((t or (f"{d:%Y-%m-%d}" if d else "")) for d, t, *_ in new.milestones)
    if new_text != old_text and [(d, t) for d, t, *_ in new.milestones] != [
        (d, t) for d, t, *_ in current.milestones
    ]:
        changed.add("milestones")
    if new.path != current.path:
        changed.add("path")
    return changed
