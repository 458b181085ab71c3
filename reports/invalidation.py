"""What invalidates the cached roll-up figures and dashboards: the one definition, and the triggers made from it.

Every committed write that can change a unit's roll-up figures or a line of the leaders' dashboard raises that
unit's row in reports_unitrevision (reports.models.UnitRevision); a cached UnitFigures row is valid while its
unit's revision is unchanged, a cached dashboard while the sum of all revisions is (reports.rollups). The
database raises the revisions itself, with triggers, so that every write path -- forms, API, the Excel import's
COPY and bulk UPDATEs, the admin, a psql session -- invalidates alike and in the same transaction.

Every rule but the report's raises a second counter, `task_rev`, with `rev`: the part of the dashboard computed
from the tasks alone is valid while the sum of `task_rev` is, so a report saved recomputes only the units' part.

The report's rule also raises the unit's counter for the report's period (reports_unitperiodrevision): a unit's
figures of a period are stamped with its `task_rev` and that counter, so a report leaves its other periods valid.

Every rule but the report's also raises the plan revisions (reports_planrevision, reports.models.PlanRevision)
of the plans (documents) whose tasks it touches, per plan and unit: the dashboard keeps each plan's part of its
task lists and counts while that plan's sum is unchanged (`Rule.plan` says how a row names its plans).

RULES below is the definition. Both dialects are generated from it: PostgreSQL gets one statement-level trigger
per table and event, reading the transition tables (a COPY of 10,000 rows bumps each unit once, in unit order so
two writers lock revision rows in the same order); SQLite, the development default, row-level triggers (it has no
statement triggers; volumes there are small). Both are (re)installed after every `migrate` (reports.apps), so a
change here reaches every database with the next migrate; on SQLite they are also dropped before it, because
SQLite's table rebuilds fail on triggers that name a table being rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction

UNIT, TASK, DOCUMENT = "unit", "task", "document"
# How a row names the (plan, unit) pairs it raises in reports_planrevision: a task row (its plan, its first unit or
# 0); a row with a task_id (that task's plan and first unit); an assignment (its task's plan, its unit); a plan
# (itself, unit 0); a unit (the plans of its tasks, itself).
PLAN_TASK, PLAN_TASK_ID, PLAN_TASK_UNIT, PLAN_DOCUMENT, PLAN_UNIT = (
    "task", "task_id", "task_unit", "document", "unit",
)  # fmt: skip
ALL = ("INSERT", "UPDATE", "DELETE")
PREFIX = "reports_fig_"


@dataclass(frozen=True)
class Rule:
    """A write on `table` (one of `events`) bumps the units named by the row's `column`: a unit id (UNIT), a
    task id (TASK: the task's units, or unit 0 when no unit carries it), or a document id (DOCUMENT: the units of
    its tasks). With `changed`, an UPDATE bumps only when one of those columns changed. `tasks_side`: the write
    can change what the dashboard reads from the tasks alone, so `task_rev` is raised too, and with it the plan
    revisions named by `plan` (one of PLAN_*; required on the tasks' side)."""

    table: str
    events: tuple[str, ...]
    column: str
    names: str
    changed: tuple[str, ...] = ()
    tasks_side: bool = True
    plan: str | None = None
    # The rows are a unit's reports: (unit_id, period_id) of each raises that unit's counter for that period
    # (reports_unitperiodrevision), which its figures of that period are stamped with.
    unit_period: bool = False

    def __post_init__(self):
        assert (self.plan is not None) == self.tasks_side, f"{self.table}: the tasks' side names its plans"


RULES = [
    Rule("tasks_taskunit", ALL, "unit_id", UNIT, plan=PLAN_TASK_UNIT),  # a unit given or taken a task
    # a unit's report: timeliness, progress. What a report changes on the task (its reported percent, status,
    # 序时进度) or its targets (latest values) reaches the dashboard through those tables' rules.
    Rule("reports_report", ALL, "unit_id", UNIT, tasks_side=False, unit_period=True),
    Rule("tasks_task", ("INSERT", "DELETE"), "id", TASK, plan=PLAN_TASK),
    # a task's light, its place on the dashboard and the words shown there
    Rule(
        "tasks_task",
        ("UPDATE",),
        "id",
        TASK,
        changed=(
            "status",
            "open_due",
            "deleted_at",
            "title",
            "path_key",
            "sort_key",
            "document_id",
            "deadline",
            "pace_fixed",
            "pace_start",
            "pace_behind_on",
            "pace_ahead_until",
            "pace_measured",
            "reported_percent",
            "reported_period_end",
        ),  # fmt: skip
        plan=PLAN_TASK,  # the plan before and after: a task moved to another plan leaves the first one too
    ),
    Rule("tasks_target", ALL, "task_id", TASK, plan=PLAN_TASK_ID),  # targets met / at risk
    Rule("tasks_milestone", ALL, "task_id", TASK, plan=PLAN_TASK_ID),  # deadlines: overdue, due soon
    Rule(
        "tasks_document", ("UPDATE",), "id", DOCUMENT, changed=("doc_number", "title"), plan=PLAN_DOCUMENT
    ),  # shown beside each task
    # renamed (its name is shown beside its tasks), deactivated, deleted
    Rule("departments_unit", ("UPDATE",), "id", UNIT, plan=PLAN_UNIT),
]

TABLES = sorted(
    {r.table for r in RULES} | {"reports_unitrevision", "reports_planrevision", "reports_unitperiodrevision"}
)


def _triggers() -> list[tuple[str, str, Rule]]:
    """(trigger name, event, rule) for every table and event."""
    out = []
    for rule in RULES:
        for event in rule.events:
            out.append((f"{PREFIX}{rule.table}_{event.lower()}", event, rule))
    names = [name for name, *_ in out]
    assert len(names) == len(set(names)), "two rules for one table and event"
    return out


# --- PostgreSQL ---------------------------------------------------------------------------------------------

PG_HELPERS = [
    f"""CREATE FUNCTION {PREFIX}bump_units(ids bigint[], tasks_side integer) RETURNS void LANGUAGE sql AS $$
        INSERT INTO reports_unitrevision (unit_id, rev, task_rev)
        SELECT DISTINCT u, 1, tasks_side FROM unnest(ids) AS u WHERE u IS NOT NULL ORDER BY u
        ON CONFLICT (unit_id) DO UPDATE
        SET rev = reports_unitrevision.rev + 1, task_rev = reports_unitrevision.task_rev + EXCLUDED.task_rev;
    $$""",
    f"""CREATE FUNCTION {PREFIX}bump_tasks(ids bigint[], tasks_side integer) RETURNS void LANGUAGE sql AS $$
        SELECT {PREFIX}bump_units(ARRAY(
            SELECT COALESCE(tu.unit_id, 0) FROM unnest(ids) AS t(id) LEFT JOIN tasks_taskunit tu ON tu.task_id = t.id),
            tasks_side);
    $$""",
    # keys: plan id << 32 | unit id (one array, so one sorted pass locks the rows in one order)
    f"""CREATE FUNCTION {PREFIX}bump_plans(keys bigint[]) RETURNS void LANGUAGE sql AS $$
        INSERT INTO reports_planrevision (document_id, unit_id, rev)
        SELECT DISTINCT k >> 32, k & 4294967295, 1 FROM unnest(keys) AS k WHERE k IS NOT NULL ORDER BY 1, 2
        ON CONFLICT (document_id, unit_id) DO UPDATE SET rev = reports_planrevision.rev + 1;
    $$""",
    # keys: unit id << 32 | period id
    f"""CREATE FUNCTION {PREFIX}bump_unit_periods(keys bigint[]) RETURNS void LANGUAGE sql AS $$
        INSERT INTO reports_unitperiodrevision (unit_id, period_id, rev)
        SELECT DISTINCT k >> 32, k & 4294967295, 1 FROM unnest(keys) AS k WHERE k IS NOT NULL ORDER BY 1, 2
        ON CONFLICT (unit_id, period_id) DO UPDATE SET rev = reports_unitperiodrevision.rev + 1;
    $$""",
]


BULK_ROWS = 64  # statements of more rows raise their plans' rows of unit 0 (`_pg_bump`)


def plan_keys_sql(plan: str, rows: str, *, bulk: bool = False) -> str:
    """SELECT of the (plan << 32 | unit) keys that the rows of `rows` (a relation of the rule's table) raise. A task
    raises its plan's row of its first unit (lowest id; 0 when none): any row of the plan moves the plan's sum, and
    that one is of a unit whose revision row every writer of the task locks first (one key per task, not one per
    unit: a re-import of 10,000 tasks with their milestones and targets fans out to no more keys than tasks).
    `bulk`: the plans' rows of unit 0, without reading the assignments."""
    first = "COALESCE(MIN(tu.unit_id), 0)"
    if bulk and plan == PLAN_TASK:
        return f"SELECT DISTINCT r.document_id::bigint << 32 FROM {rows} r"
    if bulk and plan in (PLAN_TASK_ID, PLAN_TASK_UNIT):
        return (
            f"SELECT DISTINCT t.document_id::bigint << 32 FROM (SELECT DISTINCT task_id FROM {rows}) r "
            "JOIN tasks_task t ON t.id = r.task_id"
        )
    if plan == PLAN_TASK:
        return (
            f"SELECT (r.document_id::bigint << 32) | {first} FROM {rows} r "
            "LEFT JOIN tasks_taskunit tu ON tu.task_id = r.id GROUP BY r.id, r.document_id"
        )
    if plan == PLAN_TASK_ID:
        return (
            f"SELECT (t.document_id::bigint << 32) | {first} FROM (SELECT DISTINCT task_id FROM {rows}) r "
            "JOIN tasks_task t ON t.id = r.task_id LEFT JOIN tasks_taskunit tu ON tu.task_id = t.id "
            "GROUP BY t.id, t.document_id"
        )
    if plan == PLAN_TASK_UNIT:
        return (
            "SELECT DISTINCT (t.document_id::bigint << 32) | r.unit_id FROM "
            f"{rows} r JOIN tasks_task t ON t.id = r.task_id"
        )
    if plan == PLAN_DOCUMENT:
        return f"SELECT r.id::bigint << 32 FROM {rows} r"
    if plan == PLAN_UNIT:
        return (
            "SELECT DISTINCT (t.document_id::bigint << 32) | r.id FROM "
            f"{rows} r JOIN tasks_taskunit tu ON tu.unit_id = r.id JOIN tasks_task t ON t.id = tu.task_id"
        )
    raise ValueError(plan)


def _pg_written_relations(rule: Rule, event: str) -> list[str]:
    """The transition rows whose plans (or units' periods) are raised: for an UPDATE both the new and the old rows
    (a task moved to another plan changes both), only those where a watched column changed."""
    if event == "INSERT":
        return ["new_rows"]
    if event == "DELETE":
        return ["old_rows"]
    if not rule.changed:
        return ["new_rows", "old_rows"]
    new = ", ".join(f"n.{c}" for c in rule.changed)
    old = ", ".join(f"o.{c}" for c in rule.changed)
    changed = f"FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE ({new}) IS DISTINCT FROM ({old})"
    return [f"(SELECT n.* {changed})", f"(SELECT o.* {changed})"]


def _pg_rows(rule: Rule, event: str) -> str:
    col = rule.column
    if event == "INSERT":
        return f"SELECT {col} FROM new_rows"
    if event == "DELETE":
        return f"SELECT {col} FROM old_rows"
    if rule.changed:
        new = ", ".join(f"n.{c}" for c in rule.changed)
        old = ", ".join(f"o.{c}" for c in rule.changed)
        return f"SELECT n.{col} FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE ({new}) IS DISTINCT FROM ({old})"
    return f"SELECT {col} FROM new_rows UNION SELECT {col} FROM old_rows"


def _pg_bump(rule: Rule, rows: str, event: str) -> str:
    side = int(rule.tasks_side)
    if rule.names == UNIT:
        units = f"PERFORM {PREFIX}bump_units(ARRAY({rows}), {side});"
    elif rule.names == TASK:
        units = f"PERFORM {PREFIX}bump_tasks(ARRAY({rows}), {side});"
    else:
        units = f"PERFORM {PREFIX}bump_tasks(ARRAY(SELECT t.id FROM tasks_task t WHERE t.document_id IN ({rows})), {side});"
    if rule.unit_period:
        keys = " UNION ALL ".join(
            f"SELECT (r.unit_id::bigint << 32) | r.period_id FROM {rel} r"
            for rel in _pg_written_relations(rule, event)
        )
        units += f" PERFORM {PREFIX}bump_unit_periods(ARRAY({keys}));"
    if rule.plan is None:
        return units
    relations = _pg_written_relations(rule, event)
    keys = " UNION ALL ".join(plan_keys_sql(rule.plan, rel) for rel in relations)
    # A statement of many rows (an import, a bulk update) raises its plans' rows of unit 0: no join with the
    # assignments (nor of the old and new rows: every plan it wrote, changed or not), and nobody but such writers
    # waits on them (a report's writes are statements of a few rows).
    whole = {"INSERT": ["new_rows"], "DELETE": ["old_rows"]}.get(event, ["new_rows", "old_rows"])
    coarse = " UNION ALL ".join(plan_keys_sql(rule.plan, rel, bulk=True) for rel in whole)
    size = f"(SELECT count(*) FROM {'old_rows' if event == 'DELETE' else 'new_rows'})"
    return (
        f"{units} IF {size} > {BULK_ROWS} THEN PERFORM {PREFIX}bump_plans(ARRAY({coarse})); "
        f"ELSE PERFORM {PREFIX}bump_plans(ARRAY({keys})); END IF;"
    )


def postgresql_statements() -> list[str]:
    statements = list(PG_HELPERS)
    for name, event, rule in _triggers():
        referencing = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows"}.get(
            event, "NEW TABLE AS new_rows OLD TABLE AS old_rows"
        )
        statements.append(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {_pg_bump(rule, _pg_rows(rule, event), event)} RETURN NULL; END $$;"
        )
        statements.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {rule.table} REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}();"
        )
    return statements


def _pg_drop(cursor) -> None:
    # Every trigger and function of ours, including those of earlier definitions (migrations reports.0002/0004).
    cursor.execute(
        "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE %s",
        [PREFIX.replace("_", r"\_") + "%"],
    )
    for name, table in cursor.fetchall():
        cursor.execute(f'DROP TRIGGER IF EXISTS "{name}" ON {table}')
    cursor.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND (p.proname LIKE %s OR p.proname IN ('reports_bump_units', 'reports_bump_tasks'))",
        [PREFIX.replace("_", r"\_") + "%"],
    )
    for (signature,) in cursor.fetchall():
        cursor.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")


# --- SQLite ---------------------------------------------------------------------------------------------------


def _sqlite_source(rule: Rule, ref: str) -> str:
    # SQLite needs a WHERE in an INSERT … SELECT … ON CONFLICT (it could be read as a join constraint otherwise).
    side = int(rule.tasks_side)
    if rule.names == UNIT:
        return f"SELECT {ref}, 1, {side} WHERE true"
    if rule.names == TASK:
        return (
            f"SELECT COALESCE(tu.unit_id, 0), 1, {side} FROM (SELECT {ref} AS id) t "
            f"LEFT JOIN tasks_taskunit tu ON tu.task_id = t.id WHERE true"
        )
    return (
        f"SELECT COALESCE(tu.unit_id, 0), 1, {side} FROM tasks_task t "
        f"LEFT JOIN tasks_taskunit tu ON tu.task_id = t.id WHERE t.document_id = {ref}"
    )


def _sqlite_plan_source(plan: str, ref: str) -> str:
    """SELECT of the (plan, unit, 1) rows that the row `ref` (NEW or OLD) raises (see plan_keys_sql)."""
    first = "COALESCE((SELECT MIN(tu.unit_id) FROM tasks_taskunit tu WHERE tu.task_id = {task}), 0)"
    if plan == PLAN_TASK:
        return f"SELECT {ref}.document_id, {first.format(task=f'{ref}.id')}, 1 WHERE true"
    if plan == PLAN_TASK_ID:
        return f"SELECT t.document_id, {first.format(task='t.id')}, 1 FROM tasks_task t WHERE t.id = {ref}.task_id"
    if plan == PLAN_TASK_UNIT:
        return f"SELECT t.document_id, {ref}.unit_id, 1 FROM tasks_task t WHERE t.id = {ref}.task_id"
    if plan == PLAN_DOCUMENT:
        return f"SELECT {ref}.id, 0, 1 WHERE true"
    if plan == PLAN_UNIT:
        return (
            f"SELECT DISTINCT t.document_id, {ref}.id, 1 FROM tasks_taskunit tu "
            f"JOIN tasks_task t ON t.id = tu.task_id WHERE tu.unit_id = {ref}.id"
        )
    raise ValueError(plan)


def sqlite_statements() -> list[str]:
    statements = []
    for name, event, rule in _triggers():
        refs = {"INSERT": ["NEW"], "DELETE": ["OLD"]}.get(event, ["NEW"] if rule.changed else ["NEW", "OLD"])
        body = " ".join(
            "INSERT INTO reports_unitrevision (unit_id, rev, task_rev) "
            f"{_sqlite_source(rule, f'{row}.{rule.column}')} "
            "ON CONFLICT(unit_id) DO UPDATE SET rev = rev + 1, task_rev = task_rev + excluded.task_rev;"
            for row in refs
        )
        if rule.unit_period:
            body += " " + " ".join(
                "INSERT INTO reports_unitperiodrevision (unit_id, period_id, rev) "
                f"SELECT {row}.unit_id, {row}.period_id, 1 WHERE true "
                "ON CONFLICT(unit_id, period_id) DO UPDATE SET rev = rev + 1;"
                for row in {"INSERT": ["NEW"], "DELETE": ["OLD"]}.get(event, ["NEW", "OLD"])
            )
        if rule.plan is not None:
            body += " " + " ".join(
                "INSERT INTO reports_planrevision (document_id, unit_id, rev) "
                f"{_sqlite_plan_source(rule.plan, row)} "
                "ON CONFLICT(document_id, unit_id) DO UPDATE SET rev = rev + 1;"
                for row in {"INSERT": ["NEW"], "DELETE": ["OLD"]}.get(event, ["NEW", "OLD"])
            )
        when = ""
        if event == "UPDATE" and rule.changed:
            new = ", ".join(f"NEW.{c}" for c in rule.changed)
            old = ", ".join(f"OLD.{c}" for c in rule.changed)
            when = f" WHEN ({new}) IS NOT ({old})"
        statements.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {rule.table} FOR EACH ROW{when} BEGIN {body} END"
        )
    return statements


def _sqlite_drop(cursor) -> None:
    cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?", [PREFIX + "%"])
    for (name,) in cursor.fetchall():
        cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


# --- install / remove ----------------------------------------------------------------------------------------


def triggers_remove(*, using: str = "default") -> None:
    conn = connections[using]
    with transaction.atomic(using=using), conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            _pg_drop(cursor)
        elif conn.vendor == "sqlite":
            _sqlite_drop(cursor)


def triggers_install(*, using: str = "default") -> bool:
    """Replace whatever revision triggers the database has by those of RULES. False (and nothing done) when the
    schema is only partly migrated (e.g. `migrate tasks 0001`)."""
    conn = connections[using]
    if conn.vendor not in ("postgresql", "sqlite"):
        # The product supports PostgreSQL (production) and SQLite (the embedded default) only.
        raise ImproperlyConfigured(f"不支持的数据库 {conn.vendor}：请使用 PostgreSQL 或 SQLite。")
    with transaction.atomic(using=using), conn.cursor() as cursor:
        if not set(TABLES) <= set(conn.introspection.table_names(cursor)):
            # Migrated only part of the way (e.g. `migrate tasks 0001`), or back: no trigger may name a missing table.
            if conn.vendor == "postgresql":
                _pg_drop(cursor)
            else:
                _sqlite_drop(cursor)
            return False
        if conn.vendor == "postgresql":
            _pg_drop(cursor)
            statements = postgresql_statements()
        else:
            _sqlite_drop(cursor)
            statements = sqlite_statements()
        for statement in statements:
            cursor.execute(statement)
    return True


def before_migrate(*, using: str = "default", **kwargs) -> None:
    """pre_migrate: SQLite only (its table rebuilds break on triggers naming the table)."""
    if connections[using].vendor == "sqlite":
        triggers_remove(using=using)


def after_migrate(*, using: str = "default", **kwargs) -> None:
    triggers_install(using=using)
