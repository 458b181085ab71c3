"""The leaders' overdue dashboard: the overdue and due-soon lists, lights and 序时进度 counts, targets at risk and the
unit ranking, cached per audience and period in `DashboardCache` (see `dashboard_overdue`)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
from dataclasses import MISSING, dataclass, field, fields
from decimal import Decimal

import orjson
from django.db import connection, transaction

from departments.models import Role, User
from reform_ledger.side import on_side_connection, side_connection_usable
from tasks.models import Light
from tasks.pace import Pace

from .dashboard_lists import (  # noqa: F401 - LIST_ORDER, _urgent_lists: importable from here (tests)
    COUNT_NAMES,
    LIST_ORDER,
    TargetItem,
    TaskItem,
    _at_risk_items,
    _at_risk_part,
    _plan_counts,
    _target_key,
    _task_items,
    _task_key,
    _urgent_lists,
    _urgent_lists_of,
    list_key,
)
from .figures import figures_cache_enabled
from .models import DashboardCache, Period
from .periods import period_current, period_previous, period_resolve  # noqa: F401 - re-exported
from .rollups import (
    REVISION_SUMS_SQL,
    UnitRow,
    _ProcessStore,
    _unit_figures,
    period_default,
    plan_revisions,
    rollup_scope,
    rollup_units_visible_to,
    unit_revisions,
)

log = logging.getLogger(__name__)

DASHBOARD_LIMIT = 50  # rows per list in the API
DASHBOARD_PAGE_LIMIT = 20  # rows per list on the page: one A4 sheet each


def dashboard_warm(*, today: dt.date) -> bool:
    """Compute today's dashboard of everyone who sees the whole ledger (leaders, the secretariat) for the default
    period, at the page's and the API's lengths, so the first leader of the day reads it in one query (the daily
    beat entry `rollup-figures-warm`, after the figures). Returns whether there was a period to compute."""
    period = period_default(today=today)
    if period is None:
        return False
    reader = User(role=Role.LEADER, is_active=True)  # not saved: stands for that audience
    for limit in (DASHBOARD_PAGE_LIMIT, DASHBOARD_LIMIT):
        dashboard_overdue(today=today, user=reader, period=period, limit=limit)
    return True


def dashboard_cache_prune(*, today: dt.date) -> int:
    """Drop the dashboards computed before today (they are never used again); returns how many."""
    return DashboardCache.objects.filter(as_of__lt=today).delete()[0]


# --- the leaders' dashboard ----------------------------------------------------------------------------------


@dataclass
class RankItem:
    unit_id: int
    unit: str
    kind: str
    overdue: int
    tasks: int
    reports_due: int
    reports_on_time: int
    behind: int = 0  # 欠进度 tasks (tasks.pace)
    on_time_previous: int = 0  # reports on time in the previous period (the dashboard's comparison)

    @property
    def on_time_rate(self) -> float | None:
        return self.reports_on_time / self.reports_due if self.reports_due else None


@dataclass
class Dashboard:
    period: Period
    previous: Period | None
    today: dt.date
    overdue: list[TaskItem]
    overdue_count: int
    due_soon: list[TaskItem]
    due_soon_count: int
    light_counts: dict[str, int]  # overdue / due_soon / normal / done over the tasks the user sees
    units: list[RankItem]
    on_time_rate: float | None
    on_time_rate_previous: float | None
    reports_due: int
    reports_on_time: int
    reports_on_time_previous: int
    targets_at_risk: list[TargetItem]
    targets_at_risk_count: int
    pace_counts: dict[str, int] = field(default_factory=dict)  # 序时进度 class -> tasks the user sees
    # {unit id: UnitRevision.rev} of the ranked units when their items were computed (`_dashboard_units_part`)
    unit_revs: dict = field(default_factory=dict)
    # {plan id: COUNT_NAMES} and {plan id: PlanRevision sum} when the tasks' part was computed (`_tasks_part`)
    plan_counts: dict = field(default_factory=dict)
    plan_revs: dict = field(default_factory=dict)
    # The items after the first `limit` of each list, up to as many again: not shown, kept so that a plan's part
    # can be merged into the lists without reading the other plans again (`_tasks_part_changed`).
    overdue_more: list[TaskItem] = field(default_factory=list)
    due_soon_more: list[TaskItem] = field(default_factory=list)
    targets_more: list[TargetItem] = field(default_factory=list)

    def as_data(self) -> dict:
        """Everything but the periods and the day, as JSON-ready values (DashboardCache.data)."""
        data = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("period", "previous", "today")
        }
        for name in (*LISTS, "units"):
            # vars(), not asdict(): the items hold only plain values and lists of them, and asdict's deep copy
            # of 300 ranked units cost more than the SQL of a recomputed dashboard
            data[name] = [dict(vars(item)) for item in data[name]]
        return data

    @classmethod
    def from_data(cls, data: dict, *, period: Period, previous: Period | None, today: dt.date) -> Dashboard:
        return cls(
            **{
                "pace_counts": {},
                **data,
                "period": period,
                "previous": previous,
                "today": today,
                **_lists_from_data(data),
                "units": _rank_items(data["units"]),
                "unit_revs": {int(k): v for k, v in data.get("unit_revs", {}).items()},  # JSON keys are text
                "plan_counts": {int(k): v for k, v in data.get("plan_counts", {}).items()},
                "plan_revs": {int(k): v for k, v in data.get("plan_revs", {}).items()},
            }
        )


def _day(value):
    """A date from DashboardCache.data: ISO text as read from JSON, or a date as `as_data` left it (`_Held`)."""
    if not value:
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _task_items_from(items: list[dict]) -> list[TaskItem]:
    return [TaskItem(**{**i, "open_due": _day(i["open_due"])}) for i in items]


def _target_items_from(items: list[dict]) -> list[TargetItem]:
    return [
        TargetItem(
            **{
                **i,
                "due": _day(i["due"]),
                "latest_value": None if i["latest_value"] is None else Decimal(i["latest_value"]),
            }
        )
        for i in items
    ]


def _lists_from_data(data: dict) -> dict:
    """The Dashboard's item lists (LISTS) back from DashboardCache.data; lists an older row lacks are empty."""
    return {
        name: (_target_items_from if name.startswith("targets") else _task_items_from)(data.get(name, []))
        for name in LISTS
    }


# The item lists of a Dashboard (as_data writes their items as dicts)
LISTS = ("overdue", "due_soon", "targets_at_risk", "overdue_more", "due_soon_more", "targets_more")

_RANK_DEFAULTS = {f.name: f.default for f in fields(RankItem) if f.default is not MISSING}


def _rank_items(rows: list[dict]) -> list[RankItem]:
    """RankItems back from the cached row's dicts without dataclass __init__ (330 of them on every dashboard read:
    keyword construction was a fifth of a warm read); fields an older row lacks take their defaults."""
    new = object.__new__
    out = []
    for row in rows:
        item = new(RankItem)
        item.__dict__.update(_RANK_DEFAULTS)
        item.__dict__.update(row)
        out.append(item)
    return out


def ranked_units(rows: list[UnitRow]) -> list[RankItem]:
    """Most overdue tasks first, then the lowest on-time rate (no report due counts as fully on time)."""
    items = [
        RankItem(
            unit_id=r.unit_id,
            unit=r.unit,
            kind=r.kind,
            overdue=r.overdue,
            tasks=r.tasks,
            reports_due=r.reports_due,
            reports_on_time=r.reports_on_time,
            behind=r.pace_behind,
            on_time_previous=r.reports_on_time_previous,
        )
        for r in rows
        if r.tasks
    ]
    items.sort(key=_rank_key)
    return items


def _rank_key(i: RankItem) -> tuple:
    return (-i.overdue, i.on_time_rate if i.on_time_rate is not None else 1.0, i.unit)


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)  # as DjangoJSONEncoder writes it: from_data reads it back with Decimal()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _dumps(data: dict) -> str:
    """DashboardCache.data as text. orjson: the stdlib's encoder and decoder took 2 of the 14 ms a dashboard
    costs after a report (300 ranked units written back every time)."""
    return orjson.dumps(data, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


def dashboard_overdue(
    *, today: dt.date, user, period: Period, limit: int = DASHBOARD_LIMIT, periods: list[Period] | None = None
) -> Dashboard:
    """What leaders look at first (see `_dashboard_compute`), from `DashboardCache` while nothing it shows has
    changed: one query then. When only reports changed (the quarter's rush), the tasks' part is kept and the
    units' part computed again from their cached figures (`unit_figures`: only the units written since). Otherwise
    everything is computed again. The fingerprints are read before computing, in the same query as the row, and
    the row replaced. `periods`, when the caller has read them all already (the page's period selector), saves
    the query for the previous period."""
    previous = period_previous(period, periods=periods)
    scope = rollup_scope(user)
    # Only the page's and the API's default lengths are kept: one row per audience and period, however many
    # other `?limit=` values are asked for.
    if scope is None or limit not in (DASHBOARD_LIMIT, DASHBOARD_PAGE_LIMIT) or not figures_cache_enabled():
        return _dashboard_compute(today=today, user=user, period=period, previous=previous, limit=limit)
    key = {"scope": scope, "period_id": period.pk, "limit": limit}
    previous_id = previous.pk if previous else None
    # This process's copy of the row (`_HELD`), only outside a transaction: there a row read may never commit.
    held_key = (connection.settings_dict["NAME"], scope, period.pk, limit, previous_id, today)
    held = None if connection.in_atomic_block else _HELD.get(held_key)
    row = _cached_row(key, previous_id=previous_id, today=today, held=held)
    now, tasks_now = row["now"], row["tasks_now"]
    if row["fingerprint"] is None:
        row = None
    else:
        if row["data"] is None:  # the stored row is the one this process holds: not sent again
            row["data"] = held.data
        else:
            row["data"] = orjson.loads(row["data"])
            held = None
        current = row["fingerprint"] == now
        if current and held is not None and held.dashboard is not None:
            return dataclasses.replace(held.dashboard, period=period, previous=previous, today=today)
        d = (
            Dashboard.from_data(row["data"], period=period, previous=previous, today=today)
            if current
            else None
        )
        # held from now on: a row just read, or the Dashboard built from the one held (not inside a transaction)
        if (held is None or d is not None) and not connection.in_atomic_block:
            _HELD.set(held_key, _Held(row["fingerprint"], row["task_fingerprint"], row["data"], d))
        if current:
            return d
    # One transaction for the figures and the dashboard written back: one commit, not two (units' figures
    # rows are locked before the dashboard row, in every reader, so two readers cannot deadlock). With the side
    # connection (reform_ledger.side: the caller is in no transaction), no transaction: the units' figures are
    # committed as they are written, and the dashboard row, one statement, is written on the side connection
    # after them while the caller renders the page (a reader who comes before it lands computes the same again).
    side = side_connection_usable()  # asked before the transaction below opens one
    with contextlib.nullcontext() if side else transaction.atomic():
        if row is not None and row["task_fingerprint"] == tasks_now:
            d = Dashboard.from_data(row["data"], period=period, previous=previous, today=today)
            for name, value in _dashboard_units_part(
                user=user, period=period, previous=previous, today=today, cached=row["data"], items=d.units
            ).items():
                setattr(d, name, value)
        else:
            cached = row["data"] if row is not None else None
            d = _dashboard_compute(
                today=today, user=user, period=period, previous=previous, limit=limit, cached=cached,
                plan_revs=plan_revisions(),  # read before computing: a change landing meanwhile looks stale
                side=side,
            )  # fmt: skip
        store = functools.partial(
            _store_row, key, previous_id=previous_id, today=today, fingerprint=now, task_fingerprint=tasks_now, data=d,
            held_key=held_key if side else None,
        )  # fmt: skip
        if side:
            on_side_connection(store).add_done_callback(_log_failed_store)
        else:
            store()
    return d


def _cached_row(key: dict, *, previous_id: int | None, today: dt.date, held: _Held | None = None) -> dict:
    """The audience's cached dashboard for this period, previous period and day ("fingerprint" None when there is
    none) with the current revision sums ("now", "tasks_now"), in one statement written once: building it through
    the ORM cost half of what a current dashboard costs in all. "data" is None too when the stored row has the
    fingerprints of `held` (this process's copy of it): 100 kB not read, sent and parsed again."""
    table, quote = DashboardCache._meta.db_table, connection.ops.quote_name
    previous = "d.previous_id IS NULL" if previous_id is None else "d.previous_id = %s"
    sql = (
        "SELECT CASE WHEN d.fingerprint = %s AND d.task_fingerprint = %s THEN NULL ELSE d.data END AS data, "
        "d.fingerprint, d.task_fingerprint, s.now, s.tasks_now "
        f"FROM ({REVISION_SUMS_SQL}) s LEFT JOIN {table} d "
        f"ON d.scope = %s AND d.period_id = %s AND d.{quote('limit')} = %s AND {previous} AND d.as_of = %s"
    )
    params = [*((held.fingerprint, held.task_fingerprint) if held is not None else (-1, -1))]
    params += [key["scope"], key["period_id"], key["limit"], *([] if previous_id is None else [previous_id])]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, today.isoformat()])
        names = [c[0] for c in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


@dataclass
class _Held:
    """A DashboardCache row as this process last read or wrote it: its fingerprints, its data (as read from JSON,
    or as `Dashboard.as_data` gave it: `from_data` takes both) and, once built, its Dashboard."""

    fingerprint: int
    task_fingerprint: int
    data: dict
    dashboard: Dashboard | None = None


# The dashboard rows this process holds, per database, audience, period, list length, previous period and day: a
# leader's dashboard read again is not sent, parsed and built again while the stored row is the one held.
_HELD = _ProcessStore(size=16)


def _log_failed_store(future) -> None:
    if future.exception() is not None:
        log.error("看板缓存写回失败（下一次打开时重新计算）", exc_info=future.exception())


DASHBOARD_COLUMNS = (
    "scope",
    "period_id",
    "limit",
    "previous_id",
    "as_of",
    "fingerprint",
    "task_fingerprint",
    "data",
)


def _store_row(
    key: dict, *, previous_id, today: dt.date, fingerprint: int, task_fingerprint: int, data, held_key=None
) -> None:
    """Insert or replace the audience's row (one per audience, period and list length), in one statement written
    once (bulk_create(update_conflicts=True) compiled it again on every write). With `held_key` (outside a
    transaction: the row is committed when this returns), this process holds what it wrote (`_HELD`)."""
    quote = connection.ops.quote_name
    columns = [quote(c) for c in DASHBOARD_COLUMNS]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[3:])
    sql = (
        f"INSERT INTO {quote(DashboardCache._meta.db_table)} ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) ON CONFLICT ({', '.join(columns[:3])}) DO UPDATE SET {updates}"
    )
    values = [key["scope"], key["period_id"], key["limit"], previous_id, today.isoformat(), fingerprint]
    as_data = data.as_data()
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, task_fingerprint, _dumps(as_data)])
    if held_key is not None:
        _HELD.set(held_key, _Held(fingerprint, task_fingerprint, as_data))


# Above this share of the ranked units changed since the cached ranking, it is computed again whole.
INCREMENTAL_SHARE = 0.25


def _dashboard_units_part(
    *,
    user,
    period: Period,
    previous: Period | None,
    today: dt.date,
    cached: dict | None = None,
    items: list[RankItem] | None = None,
) -> dict:
    """The unit ranking and the report figures, from the units' cached figures (`_unit_figures`).

    With `cached` (the data of this audience's dashboard for the same period, previous period and day), only the
    units whose revision moved since are computed again and put back into the ranking: after a report is saved,
    one unit, not 300 (the figures of the others are read neither from UnitFigures nor from the ledger). A unit
    added, removed, renamed or deactivated moves its revision or the set of units, so nothing stale survives.
    `items`: the cached ranking already made RankItems (`Dashboard.from_data`), not built a second time."""
    units = rollup_units_visible_to(user=user)
    revs = unit_revisions(user)
    stored = {int(k): v for k, v in (cached or {}).get("unit_revs", {}).items()}
    changed = [u for u, rev in revs.items() if stored.get(u) != rev]
    if cached is not None and stored.keys() == revs.keys() and len(changed) <= INCREMENTAL_SHARE * len(revs):
        gone = set(changed)
        if items is None:
            ranked = _rank_items([i for i in cached["units"] if i["unit_id"] not in gone])
        else:
            ranked = [i for i in items if i.unit_id not in gone]
        if changed:
            rows = _unit_figures(
                period=period,
                today=today,
                units=units.filter(pk__in=changed),
                previous=previous,
                ranking_only=True,
            )
            ranked += ranked_units(rows)
        ranked.sort(key=_rank_key)
    else:
        ranked = ranked_units(_unit_figures(period=period, today=today, units=units, previous=previous))
    # Units without tasks owe no reports: the sums over the ranked units are the sums over all.
    due = sum(i.reports_due for i in ranked)
    on_time = sum(i.reports_on_time for i in ranked)
    on_time_prev = sum(i.on_time_previous for i in ranked)
    return {
        "units": ranked,
        "on_time_rate": on_time / due if due else None,
        "on_time_rate_previous": (on_time_prev / due if due else None) if previous else None,
        "reports_due": due,
        "reports_on_time": on_time,
        "reports_on_time_previous": on_time_prev,
        "unit_revs": revs,
    }


def _dashboard_compute(
    *,
    today: dt.date,
    user,
    period: Period,
    previous: Period | None,
    limit: int,
    cached: dict | None = None,
    plan_revs: dict[int, int] | None = None,
    side: bool = False,
) -> Dashboard:
    """A fixed number of queries: the overdue and due-soon lists (count, rows and the lead units, milestones and
    targets for the light's reason), the unit ranking (the department and county roll-ups) with the on-time rate
    of the previous period, and the targets at risk.

    With `cached` (this audience's dashboard of the same day) and `plan_revs` (every plan's revision sum, read
    before computing), only the plans whose revision moved are counted again and their tasks merged into the
    cached lists (`_tasks_part`): after one task changed, one plan's tasks, not the ledger's."""
    units_part = functools.partial(
        _dashboard_units_part, user=user, period=period, previous=previous, today=today, cached=cached
    )
    # `side`: the units' part on the process's second connection meanwhile (reform_ledger.side; about a sixth of the
    # dashboard after a task changed, measured in gunicorn at 20,000 tasks)
    units = on_side_connection(units_part) if side else None
    tasks = _tasks_part(user=user, today=today, limit=limit, cached=cached, plan_revs=plan_revs)
    return Dashboard(
        period=period, previous=previous, today=today, **tasks, **(units.result() if units else units_part())
    )


# --- the tasks' part, kept per plan -----------------------------------------------------------------------

# Above this share of the plans changed since the cached dashboard, its tasks' part is computed again whole.
PLANS_INCREMENTAL_SHARE = 0.5


def _merged(kept: list[tuple], fresh: list[tuple], *, limit: int, unknown: bool) -> list | None:
    """The first 2 × `limit` of the cached items of unchanged plans (`kept`, in order) and the changed plans' first
    2 × `limit` (`fresh`), both as (sort key, item) pairs. With `unknown` (the unchanged plans have more items
    than the cache held), any of those could come after the last kept one: only what comes before it is certain,
    and None when that is fewer than `limit` (the first `limit` are shown; the rest is kept for the next merge)."""
    merged = sorted(kept + fresh, key=lambda pair: pair[0])
    if unknown:
        if not kept:
            return None
        last = kept[-1][0]
        merged = [pair for pair in merged if pair[0] <= last]
        if len(merged) < limit:
            return None
    return [item for _, item in merged[: 2 * limit]]


def _tasks_part(
    *, user, today: dt.date, limit: int, cached: dict | None = None, plan_revs: dict[int, int] | None = None
) -> dict:
    if cached is not None and plan_revs is not None and "plan_counts" in cached:
        part = _tasks_part_changed(user=user, today=today, limit=limit, cached=cached, revs=plan_revs)
        if part is not None:
            return part
    counts = _plan_counts(user=user, today=today)
    overdue, due_soon = _task_items(_urgent_lists_of(user=user, today=today, limit=2 * limit), today=today)
    return _tasks_fields(
        counts,
        overdue=overdue,
        due_soon=due_soon,
        targets=_at_risk_items(user=user, today=today, limit=2 * limit),
        revs=plan_revs or {},
        limit=limit,
    )


def _tasks_fields(counts: dict, *, overdue, due_soon, targets, revs: dict, limit: int) -> dict:
    """The Dashboard's fields of the tasks' part from the plans' counts and the lists (up to 2 × `limit` each)."""
    total = {name: sum(c[name] for c in counts.values()) for name in COUNT_NAMES}
    return {
        "overdue": overdue[:limit],
        "overdue_more": overdue[limit:],
        "overdue_count": total[Light.OVERDUE.value],
        "due_soon": due_soon[:limit],
        "due_soon_more": due_soon[limit:],
        "due_soon_count": total[Light.DUE_SOON.value],
        "light_counts": {light.value: total[light.value] for light in Light},
        "targets_at_risk": targets[:limit],
        "targets_more": targets[limit:],
        "targets_at_risk_count": total["at_risk"],
        "pace_counts": {p: total[f"pace_{p}"] for p in Pace.ALL},
        "plan_counts": counts,
        "plan_revs": revs,
    }


def _tasks_part_changed(*, user, today: dt.date, limit: int, cached: dict, revs: dict) -> dict | None:
    """The tasks' part from the cached one, with the plans whose revision moved counted again and their list
    heads merged in (`_merged`); None when too many plans changed or the lists cannot be told that way."""
    stored = {int(k): v for k, v in cached.get("plan_revs", {}).items()}
    old_counts = {int(k): v for k, v in cached["plan_counts"].items()}
    changed = {d for d in stored.keys() | revs.keys() if stored.get(d) != revs.get(d)}
    # (plans never changed since the revision table was created have no rows: count the plans with tasks)
    if len(changed) > PLANS_INCREMENTAL_SHARE * max(len(old_counts.keys() | revs.keys()), 1):
        return None
    old = _lists_from_data(cached)  # the items only: the units' part reads its own
    if not changed:  # the tasks' side moved but no plan did (a unit without tasks renamed): all is kept
        return _tasks_fields(
            old_counts,
            overdue=old["overdue"] + old["overdue_more"],
            due_soon=old["due_soon"] + old["due_soon_more"],
            targets=old["targets_at_risk"] + old["targets_more"],
            revs=revs,
            limit=limit,
        )
    lists = (
        old["overdue"] + old["overdue_more"],
        old["due_soon"] + old["due_soon_more"],
        old["targets_at_risk"] + old["targets_more"],
    )
    if any(i.document_id is None for items in lists for i in items):
        return None  # cached before the items named their plan
    counts = {d: c for d, c in old_counts.items() if d not in changed}
    fresh = _plan_counts(user=user, today=today, documents=changed, at_risk=False)
    at_risk, at_risk_counts = _at_risk_part(user=user, today=today, limit=2 * limit, documents=changed)
    for d, n in at_risk_counts.items():
        if n:
            fresh.setdefault(d, dict.fromkeys(COUNT_NAMES, 0))["at_risk"] = n
    counts.update(fresh)

    def unknown(name: str, items: list) -> bool:
        before = sum(c[name] for d, c in old_counts.items() if d not in changed)
        return before > sum(1 for i in items if i.document_id not in changed)

    heads = []
    for name, items, fresh in zip(
        (Light.OVERDUE.value, Light.DUE_SOON.value), lists[:2], _urgent_lists_of(user=user, today=today, limit=2 * limit, documents=changed),
        strict=True,
    ):  # fmt: skip
        head = _merged(
            [(_task_key(i), i) for i in items if i.document_id not in changed],
            [(list_key(r), r) for r in fresh],
            limit=limit,
            unknown=unknown(name, items),
        )
        if head is None:
            return None
        heads.append(head)
    # The changed plans' rows that made it into a list become items (lead units, milestones, targets: one query
    # each for both lists).
    new_items = _task_items([[x for x in head if isinstance(x, dict)] for head in heads], today=today)
    overdue, due_soon = (
        [next(built) if isinstance(x, dict) else x for x in head]
        for head, built in zip(heads, (iter(items) for items in new_items), strict=True)
    )
    targets = _merged(
        [(_target_key(t), t) for t in lists[2] if t.document_id not in changed],
        [(_target_key(t), t) for t in at_risk],
        limit=limit,
        unknown=unknown("at_risk", lists[2]),
    )
    if targets is None:
        return None
    return _tasks_fields(counts, overdue=overdue, due_soon=due_soon, targets=targets, revs=revs, limit=limit)
