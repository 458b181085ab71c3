"""The SQLite twin of the revision triggers of migrations reports.0002 and 0004 (see reports.models.UnitRevision).

SQLite rebuilds a table to alter it (create a copy, drop, rename), and its RENAME checks every trigger: one that
names a table being rebuilt fails the migration ("error in trigger …: no such table"). So on SQLite, the
development default, the triggers are dropped before every migrate and created again after it, rather than in a
migration. They are row-level: SQLite has no statement triggers; volumes there are small.
"""

from django.db import connections

BUMP = "INSERT INTO reports_unitrevision (unit_id, rev) {source} ON CONFLICT(unit_id) DO UPDATE SET rev = rev + 1;"
# the task's units, or unit 0 when no unit carries it (see reports.models.UnitRevision)
TASK_UNITS = (
    "SELECT unit_id, 1 FROM tasks_taskunit WHERE task_id = {ref} "
    "UNION ALL SELECT 0, 1 WHERE NOT EXISTS (SELECT 1 FROM tasks_taskunit WHERE task_id = {ref})"
)
DOCUMENT_UNITS = (
    "SELECT tu.unit_id, 1 FROM tasks_taskunit tu JOIN tasks_task t ON t.id = tu.task_id "
    "WHERE t.document_id = NEW.id AND (NEW.doc_number, NEW.title) IS NOT (OLD.doc_number, OLD.title) "
    "UNION ALL SELECT 0, 1 WHERE (NEW.doc_number, NEW.title) IS NOT (OLD.doc_number, OLD.title)"
)

# (table, event, sources of the unit ids to bump)
TRIGGERS = [
    ("tasks_taskunit", "INSERT", ["VALUES (NEW.unit_id, 1)"]),
    ("tasks_taskunit", "DELETE", ["VALUES (OLD.unit_id, 1)"]),
    ("tasks_taskunit", "UPDATE", ["VALUES (NEW.unit_id, 1)", "VALUES (OLD.unit_id, 1)"]),
    ("reports_report", "INSERT", ["VALUES (NEW.unit_id, 1)"]),
    ("reports_report", "DELETE", ["VALUES (OLD.unit_id, 1)"]),
    ("reports_report", "UPDATE", ["VALUES (NEW.unit_id, 1)", "VALUES (OLD.unit_id, 1)"]),
    ("tasks_task", "INSERT", [TASK_UNITS.format(ref="NEW.id")]),
    ("tasks_task", "DELETE", [TASK_UNITS.format(ref="OLD.id")]),
    ("tasks_task", "UPDATE", [TASK_UNITS.format(ref="NEW.id")]),
    ("tasks_target", "INSERT", [TASK_UNITS.format(ref="NEW.task_id")]),
    ("tasks_target", "DELETE", [TASK_UNITS.format(ref="OLD.task_id")]),
    ("tasks_target", "UPDATE", [TASK_UNITS.format(ref="NEW.task_id"), TASK_UNITS.format(ref="OLD.task_id")]),
    ("tasks_milestone", "INSERT", [TASK_UNITS.format(ref="NEW.task_id")]),
    ("tasks_milestone", "DELETE", [TASK_UNITS.format(ref="OLD.task_id")]),
    ("tasks_milestone", "UPDATE", [TASK_UNITS.format(ref="NEW.task_id"), TASK_UNITS.format(ref="OLD.task_id")]),
    ("tasks_document", "UPDATE", [DOCUMENT_UNITS]),
    ("departments_unit", "UPDATE", ["VALUES (NEW.id, 1)"]),
]


def _name(table: str, event: str) -> str:
    return f"reports_fig_{table}_{event.lower()}"


def _sqlite(using: str):
    conn = connections[using]
    return conn if conn.vendor == "sqlite" else None


def drop_sqlite_triggers(*, using: str = "default", **kwargs) -> None:
    conn = _sqlite(using)
    if conn is None:
        return
    with conn.cursor() as cursor:
        for table, event, _ in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {_name(table, event)}")


def create_sqlite_triggers(*, using: str = "default", **kwargs) -> None:
    conn = _sqlite(using)
    if conn is None:
        return
    with conn.cursor() as cursor:
        tables = set(conn.introspection.table_names(cursor))
        if not {t for t, _, _ in TRIGGERS} | {"reports_unitrevision"} <= tables:
            return  # migrated only part of the way (e.g. `migrate tasks 0001`)
        for table, event, sources in TRIGGERS:
            body = " ".join(BUMP.format(source=s) for s in sources)
            cursor.execute(f"DROP TRIGGER IF EXISTS {_name(table, event)}")
            cursor.execute(f"CREATE TRIGGER {_name(table, event)} AFTER {event} ON {table} BEGIN {body} END")
