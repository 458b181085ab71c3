"""Bulk writes of tasks for tasks.services.tasks_bulk_save: PostgreSQL COPY (other databases: bulk_create /
bulk_update), one converter per column, audit records in one insert. Persistence only: what is written and why
(versions, history, schedule dates) is decided by the service."""

import io
import json
from collections import namedtuple

from django.db import connection

from departments.models import AuditEntry

from .models import TaskUnit, path_segment_number
from .pace import PACE_FIELDS

# A milestone as tasks.pace reads one (date, text, context, done), made from a TaskState's tuple.
MilestoneRow = namedtuple("MilestoneRow", "date text context done")


def _copy_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _json_encoder():
    """A function giving the text of json.dumps(value, ensure_ascii=False, check_circular=False).

    json.dumps builds a new C encoder on every call, a few microseconds that 30,000 values per import (paths,
    sections, audit changes) add up; this builds it once. Pure-Python json (no C encoder): the plain encoder."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(ensure_ascii=False, check_circular=False).encode

    def default(value):
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    encode = make(None, default, json.encoder.c_encode_basestring, None, ": ", ", ", False, False, True)
    return lambda value: "".join(encode(value, 0))


_json = _json_encoder()


def _copy_converter(field):
    """A function turning a Python value of this field into COPY text, chosen once per column (not per cell)."""
    kind = field.get_internal_type()
    if kind == "JSONField":

        def conv(v):
            return "\\N" if v is None else _copy_escape(_json(v))
    elif kind == "BooleanField":

        def conv(v):
            return "\\N" if v is None else ("t" if v else "f")
    elif kind in ("DateField", "DateTimeField"):

        def conv(v):
            return "\\N" if v is None else v.isoformat()
    elif kind in ("CharField", "TextField", "GenericIPAddressField", "SlugField", "EmailField"):

        def conv(v):
            return "\\N" if v is None else _copy_escape(v)
    elif field.null:

        def conv(v):
            return "\\N" if v is None else str(v)
    else:
        conv = str  # integers and foreign keys that cannot be null: the builtin, no Python call per cell
    return conv


_TEXT_KINDS = ("CharField", "TextField", "GenericIPAddressField", "SlugField", "EmailField")


def _copy_column(field, values: list) -> list[str]:
    """COPY text of one column. Text and JSON columns are escaped all at once: the values joined by NUL (which a
    PostgreSQL text value cannot contain), four replaces over one string, split again; other columns value by value."""
    kind = field.get_internal_type()
    if (kind in _TEXT_KINDS or kind == "JSONField") and None not in values:
        joined = "\x00".join(values if kind != "JSONField" else map(_json, values))
        if joined.count("\x00") == len(values) - 1:
            return _copy_escape(joined).split("\x00")
    conv = _copy_converter(field)
    if kind in ("DateField", "DateTimeField"):
        # A few distinct dates (deadlines, the import's own timestamp) repeat over thousands of rows.
        memo: dict = {}
        return [memo[v] if v in memo else memo.setdefault(v, conv(v)) for v in values]
    return list(map(conv, values))


def _field_default(field, now):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    return "" if field.get_internal_type() in ("CharField", "TextField") else None


class Writer:
    """Bulk writes of rows given as tuples of `columns` (attnames).

    PostgreSQL: COPY, converting column by column with one converter per column (10-20x faster than bulk_create
    at tens of thousands of rows, and no model instance per row); every column left out except the id gets its
    model default as one constant, the id its identity default. Other databases: bulk_create / bulk_update."""

    def __init__(self, now):
        self.now = now
        self.pg = connection.vendor == "postgresql"

    def new_ids(self, model, count: int) -> list[int]:
        """Ids for rows the caller inserts itself (PostgreSQL)."""
        if not count:
            return []
        with connection.cursor() as cur:
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            sequence = cur.fetchone()[0]
            cur.execute(
                "SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)", [sequence, count]
            )
            return cur.fetchone()[0]

    def _copy_text(
        self, model, columns: list[str], rows: list[tuple], *, constants: bool
    ) -> tuple[list[str], io.StringIO]:
        meta = model._meta
        fields = [meta.get_field(c) for c in columns]
        texts = [_copy_column(f, [r[i] for r in rows]) for i, f in enumerate(fields)]
        db_columns = [f.column for f in fields]
        suffix = ""
        if constants:
            given = {f.attname for f in fields}
            for f in meta.concrete_fields:
                if f.attname not in given and not f.primary_key:
                    db_columns.append(f.column)
                    suffix += "\t" + _copy_converter(f)(_field_default(f, self.now))
        body = "\n".join(map("\t".join, zip(*texts, strict=True)))
        if suffix:
            body = body.replace("\n", suffix + "\n")
        return db_columns, io.StringIO(body + suffix + "\n")

    def insert(self, model, columns: list[str], rows: list[tuple]) -> list[int] | None:
        """Insert rows; returns their ids when the database hands them back (not on the PostgreSQL COPY path
        unless "id" is one of the columns)."""
        if not rows:
            return []
        if not self.pg:
            defaults = {
                f.attname: _field_default(f, self.now)
                for f in model._meta.concrete_fields
                if not f.primary_key
            }
            objs = model.objects.bulk_create(
                [model(**{**defaults, **dict(zip(columns, r, strict=True))}) for r in rows], batch_size=500
            )
            return [o.pk for o in objs]
        db_columns, buf = self._copy_text(model, columns, rows, constants=True)
        quote = connection.ops.quote_name
        # Django wraps execute() but not copy_expert(): without this a constraint or trigger failing inside COPY
        # would escape as a psycopg2 error instead of django.db.IntegrityError.
        with connection.cursor() as cur, connection.wrap_database_errors:
            cur.copy_expert(
                f"COPY {quote(model._meta.db_table)} ({', '.join(map(quote, db_columns))}) FROM STDIN", buf
            )
        return [r[columns.index("id")] for r in rows] if "id" in columns else None

    def update(self, model, columns: list[str], rows: list[tuple]) -> None:
        """Set `columns` (after the first, "id") of existing rows."""
        if not rows:
            return
        assert columns[0] == "id"
        if not self.pg:
            model.objects.bulk_update(
                [model(**dict(zip(columns, r, strict=True))) for r in rows], columns[1:], batch_size=200
            )
            return
        meta = model._meta
        quote = connection.ops.quote_name
        db_columns, buf = self._copy_text(model, columns, rows, constants=False)
        temp = quote(f"_import_{meta.db_table}")
        with connection.cursor() as cur:
            cur.execute(
                f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS SELECT {', '.join(map(quote, db_columns))} "
                f"FROM {quote(meta.db_table)} WITH NO DATA"
            )
            with connection.wrap_database_errors:
                cur.copy_expert(f"COPY {temp} FROM STDIN", buf)
            sets = ", ".join(f"{quote(c)} = u.{quote(c)}" for c in db_columns[1:])
            cur.execute(f"UPDATE {quote(meta.db_table)} AS t SET {sets} FROM {temp} AS u WHERE t.id = u.id")
            cur.execute(f"DROP TABLE {temp}")

    def delete_children(self, model, task_ids: list[int], **filters) -> None:
        if self.pg:
            # One DELETE with an array: no IN list of thousands of parameters each prepared by the ORM. TaskUnit
            # and Milestone have no delete signals and nothing references them, so this is what .delete() does.
            if not task_ids:
                return
            where = "".join(f" AND {model._meta.get_field(k).column} = %s" for k in filters)
            with connection.cursor() as cur:
                cur.execute(
                    f"DELETE FROM {model._meta.db_table} WHERE task_id = ANY(%s){where}",
                    [task_ids, *(getattr(v, "value", v) for v in filters.values())],
                )
            return
        for i in range(0, len(task_ids), 500):
            model.objects.filter(task_id__in=task_ids[i : i + 500], **filters).delete()


AUDIT_COLUMNS = [
    "actor_id",
    "actor_name",
    "ip",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "message",
]


def audit_rows(
    entries: list[tuple[str, int, str, dict]], *, actor, request, writer, message: str = ""
) -> None:
    """One audit record per created or updated task, as audit_log writes them, in one bulk insert."""
    from departments.services import request_ip

    if (
        actor is None
        and request is not None
        and getattr(request, "user", None)
        and request.user.is_authenticated
    ):
        actor = request.user
    name = actor.get_username() if actor is not None else "系统"
    actor_id = actor.pk if (actor is not None and actor.pk) else None
    ip = request_ip(request)
    writer.insert(
        AuditEntry,
        AUDIT_COLUMNS,
        [
            (actor_id, name, ip, action, "task", str(task_id), repr_[:300], changes, message)
            for action, task_id, repr_, changes in entries
        ],
    )


_SEGMENT_NUMBERS: dict[str, str] = {}


def sort_key(path: list[str]) -> str:
    """tasks.models.path_sort_key, with each segment's number computed once per process."""
    out = []
    for s in path:
        n = _SEGMENT_NUMBERS.get(s)
        if n is None:
            n = _SEGMENT_NUMBERS[s] = f"{path_segment_number(s):04d}"
        out.append(n)
    return ".".join(out)


TASK_INSERT_COLUMNS = [
    "id",
    "document_id",
    "path",
    "path_key",
    "sort_key",
    "section",
    "title",
    "text",
    "note",
    "status",
    "open_due",
    "deadline",
    "version",
    "created_at",
    "updated_at",
    *PACE_FIELDS,
]
TASK_UPDATE_COLUMNS = [
    "id",
    "path",
    "path_key",
    "sort_key",
    "title",
    "text",
    "note",
    "status",
    "version",
    "open_due",
    "deadline",
    "updated_at",
    *PACE_FIELDS,
]
ROLES = (
    (TaskUnit.Role.LEAD.value, "lead"),
    (TaskUnit.Role.RESPONSIBLE.value, "responsible"),
    (TaskUnit.Role.COUNTY.value, "counties"),
)
