"""The cached per-unit figures (reports.UnitFigures) always equal a fresh computation from the ledger.

Each change below is written the way the fastest write paths write (queryset update, bulk_create, delete), not
through the services, so what is checked is the database triggers of migration reports.0002: a write path that
forgets to invalidate the cache cannot exist. Every case first checks that the change really moves a figure, so
a cache that is never invalidated fails here.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from departments.models import Unit
from reports import dashboard as dash
from reports import figures, rollups
from reports.models import Report, ReportStatus, UnitFigures
from tasks.models import Progress, Target, Task, TaskUnit
from tests.factories import DocumentFactory, TaskFactory
from tests.rollups.conftest import TODAY

# `sqlite`: scripts/test.sh runs these again on SQLite, whose trigger dialect the embedded default uses
pytestmark = pytest.mark.sqlite


def cached(ledger, leader_user, *, today=TODAY, period=None):
    """Figures as the pages read them (through the cache), for every unit of the ledger."""
    period = period or ledger.q3
    rows = rollups.rollup_by_department(period=period, today=today, user=leader_user).rows
    rows += rollups.rollup_by_county(period=period, today=today, user=leader_user).rows
    return {r.unit_id: r.as_dict() for r in rows}


def fresh(ledger, leader_user, *, today=TODAY, period=None):
    """The same figures computed from the ledger with the cache emptied."""
    UnitFigures.objects.all().delete()
    return cached(ledger, leader_user, today=today, period=period)


def _t1_submitted_by_b(ledger):
    Report.objects.filter(task=ledger.t1, unit=ledger.b, period=ledger.q3).update(
        status=ReportStatus.SUBMITTED
    )


def _t5_report_created(ledger):
    Report.objects.bulk_create(
        [Report(task=ledger.t5, unit=ledger.a, period=ledger.q3, status=ReportStatus.SUBMITTED)]
    )


def _t1_report_deleted(ledger):
    Report.objects.filter(task=ledger.t1, unit=ledger.k1, period=ledger.q3).delete()


def _t3_completed(ledger):
    Task.objects.filter(pk=ledger.t3.pk).update(status=Progress.COMPLETED)


def _t4_deadline_passed(ledger):
    Task.objects.filter(pk=ledger.t4.pk).update(open_due=dt.date(2024, 7, 1))


def _t1_soft_deleted(ledger):
    Task.objects.filter(pk=ledger.t1.pk).update(deleted_at=timezone.now())


def _c_joins_t3(ledger):
    TaskUnit.objects.bulk_create([TaskUnit(task=ledger.t3, unit=ledger.c, role=TaskUnit.Role.RESPONSIBLE)])


def _b_leaves_t1(ledger):
    TaskUnit.objects.filter(task=ledger.t1, unit=ledger.b).delete()


def _b_now_leads_t2(ledger):
    TaskUnit.objects.filter(task=ledger.t2, unit=ledger.b).update(role=TaskUnit.Role.LEAD)


def _t3_target_met(ledger):
    Target.objects.filter(pk=ledger.targets.t3_open.pk).update(latest_value=Decimal(8))


def _t1_target_removed(ledger):
    Target.objects.filter(pk=ledger.targets.t1_met.pk).delete()


def _t4_target_due_earlier(ledger):
    Target.objects.filter(pk=ledger.targets.t4_later.pk).update(due=dt.date(2024, 9, 1))


def _k2_deactivated(ledger):
    Unit.objects.filter(pk=ledger.k2.pk).update(is_active=False)


CHANGES = {
    "a report is submitted": (_t1_submitted_by_b, "b"),
    "a report is created": (_t5_report_created, "a"),
    "a report is deleted": (_t1_report_deleted, "k1"),
    "a task is completed": (_t3_completed, "a"),
    "a task's deadline moves": (_t4_deadline_passed, "k1"),
    "a task is deleted": (_t1_soft_deleted, "k2"),
    "a unit is added to a task": (_c_joins_t3, "c"),
    "a unit is removed from a task": (_b_leaves_t1, "b"),
    "a unit's role changes": (_b_now_leads_t2, "b"),
    "a target's value changes": (_t3_target_met, "b"),
    "a target is removed": (_t1_target_removed, "a"),
    "a target's due date moves": (_t4_target_due_earlier, "c"),
    "a unit is deactivated": (_k2_deactivated, "k2"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_cached_figures_follow_every_kind_of_change(ledger, leader_user, change):
    apply, moved = CHANGES[change]
    before = cached(ledger, leader_user)
    assert UnitFigures.objects.filter(period_id=ledger.q3.pk).count() == len(before)
    apply(ledger)
    after = cached(ledger, leader_user)
    unit = getattr(ledger, moved)
    assert after.get(unit.pk) != before[unit.pk], "the change should move this unit's figures"
    assert after == fresh(ledger, leader_user)


def test_a_report_change_recomputes_only_that_units_figures(ledger, leader_user, django_assert_num_queries):
    cached(ledger, leader_user)
    stamp = dict(UnitFigures.objects.values_list("unit_id", "rev"))
    _t1_submitted_by_b(ledger)
    cached(ledger, leader_user)
    now = dict(UnitFigures.objects.values_list("unit_id", "rev"))
    assert {u for u in now if now[u] != stamp[u]} == {ledger.b.pk}


def test_figures_are_recomputed_on_the_next_day(ledger, leader_user):
    """Lights depend on the date: T3 (due 2024-09-30) is due soon on 09-10 and overdue on 10-01."""
    on_the_10th = cached(ledger, leader_user)
    on_the_1st = cached(ledger, leader_user, today=dt.date(2024, 10, 1))
    assert on_the_10th[ledger.b.pk]["overdue"] == 1  # T1
    assert on_the_1st[ledger.b.pk]["overdue"] == 2  # T1 and T3
    assert on_the_1st == fresh(ledger, leader_user, today=dt.date(2024, 10, 1))


def test_each_period_has_its_own_figures(ledger, leader_user):
    q3 = cached(ledger, leader_user)
    q2 = cached(ledger, leader_user, period=ledger.q2)
    assert q3[ledger.k1.pk]["reports_on_time"] == 1 and q2[ledger.k1.pk]["reports_late"] == 1
    assert q2 == fresh(ledger, leader_user, period=ledger.q2)


def test_a_change_made_while_figures_are_computed_is_not_hidden_by_the_cache(
    ledger, leader_user, monkeypatch
):
    """Figures computed from the data before a change but stored after it carry the revision read before the
    change, so the next read sees them as stale instead of serving them until tomorrow."""
    real = figures._compute_figures_many
    done = []

    def compute_then_change(**kwargs):
        figures = real(**kwargs)
        if not done:
            done.append(True)
            _t1_submitted_by_b(ledger)  # lands after the computation, before the row is written
        return figures

    monkeypatch.setattr(figures, "_compute_figures_many", compute_then_change)
    first = cached(ledger, leader_user)
    monkeypatch.setattr(figures, "_compute_figures_many", real)
    second = cached(ledger, leader_user)
    assert second[ledger.b.pk]["reports_on_time"] == first[ledger.b.pk]["reports_on_time"] + 1
    assert second == fresh(ledger, leader_user)


def test_the_daily_warm_up_computes_every_units_figures_once(ledger, leader_user, django_assert_num_queries):
    from reports import jobs

    UnitFigures.objects.all().delete()
    assert rollups.unit_figures_warm(today=TODAY) == 2 * 5  # five units, Q3 and Q2
    assert rollups.unit_figures_warm(today=TODAY) == 0
    with time_machine.travel("2024-09-11 00:05 +08:00", tick=False):
        assert jobs.rollup_figures_warm() == 2 * 5  # a new day: lights may have changed
    warm = cached(ledger, leader_user, today=dt.date(2024, 9, 11))
    with django_assert_num_queries(2):  # units, cached rows with their revisions: nothing recomputed
        rollups.rollup_by_department(period=ledger.q3, today=dt.date(2024, 9, 11), user=leader_user)
    assert warm == fresh(ledger, leader_user, today=dt.date(2024, 9, 11))


@pytest.mark.parametrize("limit", [1, 2, 50])
def test_the_urgent_lists_are_the_oldest_overdue_and_due_soon_tasks_in_plan_order(ledger, leader_user, limit):
    """One ranked query gives what two ordered, limited queries would (more tasks than the limit in each)."""
    from tasks.lights import light_q
    from tasks.models import Light
    from tasks.selectors import tasks_visible_to
    from tests.factories import TaskFactory

    for i, due in enumerate(
        [dt.date(2024, 5, 1), dt.date(2024, 5, 1), dt.date(2024, 9, 12), dt.date(2024, 9, 12)]
    ):
        TaskFactory(document=ledger.doc, path=["九", str(i + 1)], lead=[ledger.a], open_due=due)
    tasks = tasks_visible_to(user=leader_user)
    expected = [
        list(
            tasks.filter(light_q(light, today=TODAY))
            .order_by(*dash.LIST_ORDER)
            .values_list("pk", flat=True)[:limit]
        )
        for light in (Light.OVERDUE, Light.DUE_SOON)
    ]
    got = dash._urgent_lists(tasks, today=TODAY, limit=limit)
    assert [[row["id"] for row in rows] for rows in got] == expected
    assert all(len(rows) == min(limit, 3) for rows in expected)  # T1 + two new overdue, T3 + two new due soon


def test_a_statement_compiled_once_gives_every_unit_its_own_figures(ledger, monkeypatch):
    """`_reused_statement` compiles the figures' statements once per period, day and list lengths and puts the
    unit ids in: each unit still gets exactly what a statement built for it alone gives, repeated rows (a unit
    both leading and sharing a task) included."""
    TaskUnit.objects.create(task=ledger.t1, unit=ledger.b, role=TaskUnit.Role.LEAD)  # b now twice on T1
    units = [ledger.a.pk, ledger.b.pk, ledger.c.pk, ledger.k1.pk, ledger.k2.pk]
    figures._STATEMENTS.clear()
    reused = {u: rollups._compute_figures(period=ledger.q3, today=TODAY, unit_ids=[u])[u] for u in units}
    assert figures._STATEMENTS  # compiled and kept
    built = {}
    for u in units:
        figures._STATEMENTS.clear()
        built[u] = rollups._compute_figures(period=ledger.q3, today=TODAY, unit_ids=[u])[u]
    assert reused == built
    assert len({tuple(sorted(f.items())) for f in built.values()}) > 1  # the units' figures differ
    assert (
        built[ledger.b.pk]["tasks"]
        == Task.objects.filter(task_units__unit=ledger.b, deleted_at__isnull=True).distinct().count()
    )
    # another day is another statement: the lights move with it
    later = rollups._compute_figures(period=ledger.q3, today=dt.date(2024, 10, 1), unit_ids=units)
    figures._STATEMENTS.clear()
    assert later == rollups._compute_figures(period=ledger.q3, today=dt.date(2024, 10, 1), unit_ids=units)


@pytest.mark.parametrize("per_statement", [1, 8])
def test_several_periods_in_one_statement_give_each_periods_own_figures(ledger, monkeypatch, per_statement):
    """The reports of each period are joined separately; what comes from the tasks is shared. Q3 and Q2 differ
    (Q2 has no reports here), so a join mixed up between periods fails."""
    TaskUnit.objects.create(task=ledger.t1, unit=ledger.b, role=TaskUnit.Role.LEAD)  # a repeated unit row
    units = [ledger.a.pk, ledger.b.pk, ledger.c.pk, ledger.k1.pk, ledger.k2.pk]
    monkeypatch.setattr(figures, "FIGURES_PERIODS_PER_STATEMENT", per_statement)
    together = figures._compute_figures_many(periods=[ledger.q3, ledger.q2], today=TODAY, unit_ids=units)
    alone = {
        key: f
        for p in (ledger.q3, ledger.q2)
        for key, f in figures._compute_figures_many(periods=[p], today=TODAY, unit_ids=units).items()
    }
    assert together == alone
    assert any(together[(u, ledger.q3.pk)] != together[(u, ledger.q2.pk)] for u in units)


def _t1_reported_completed_by_b(ledger):
    Report.objects.filter(task=ledger.t1, unit=ledger.b, period=ledger.q3).update(
        status=ReportStatus.SUBMITTED, progress=Progress.COMPLETED
    )


def _trend(ledger, leader_user):
    rows = rollups.rollup_trend(period=ledger.q3, today=TODAY, user=leader_user)
    return [vars(r) for r in rows]


@pytest.mark.django_db(transaction=True)  # the trend's pieces are kept only outside a transaction
@pytest.mark.parametrize("change", [*CHANGES, "a task is reported completed"])
def test_the_cached_trend_follows_every_kind_of_change(ledger, leader_user, change):
    apply = CHANGES[change][0] if change in CHANGES else _t1_reported_completed_by_b
    before = _trend(ledger, leader_user)
    assert _trend(ledger, leader_user) == before  # now served from the cache
    apply(ledger)
    after = _trend(ledger, leader_user)
    rollups.process_caches_clear()
    UnitFigures.objects.all().delete()
    assert after == _trend(ledger, leader_user)
    if change == "a task is reported completed":
        assert after[-1]["tasks_reported_completed"] == before[-1]["tasks_reported_completed"] + 1


@pytest.mark.django_db(transaction=True)
def test_after_a_report_the_trend_reads_that_units_figures_and_completed_tasks_only(
    ledger, leader_user, monkeypatch
):
    _trend(ledger, leader_user)
    figures_of, completed_of = [], []
    real_figures, real_completed = rollups.unit_figures, rollups._completed_rows
    monkeypatch.setattr(
        rollups, "unit_figures", lambda **kw: figures_of.append(sorted(kw["unit_ids"])) or real_figures(**kw)
    )
    monkeypatch.setattr(
        rollups,
        "_completed_rows",
        lambda **kw: completed_of.append(sorted(kw["unit_ids"])) or real_completed(**kw),
    )
    _t1_reported_completed_by_b(ledger)
    after = _trend(ledger, leader_user)
    assert figures_of == [[ledger.b.pk]] and completed_of == [[ledger.b.pk]]

    # A second unit reporting the same task completed does not count it twice; withdrawing one keeps it counted.
    def completed():
        return _trend(ledger, leader_user)[-1]["tasks_reported_completed"]

    said = after[-1]["tasks_reported_completed"]
    t1_of = Report.objects.filter(task=ledger.t1, period=ledger.q3)
    t1_of.filter(unit=ledger.a).update(status=ReportStatus.SUBMITTED, progress=Progress.COMPLETED)
    assert completed() == said
    t1_of.filter(unit=ledger.b).update(progress=Progress.IN_PROGRESS)
    assert completed() == said
    t1_of.filter(unit=ledger.a).update(status=ReportStatus.RETURNED)
    assert completed() == said - 1


@pytest.mark.django_db(transaction=True)  # kept only outside a transaction
@pytest.mark.parametrize("change", list(CHANGES))
def test_the_roll_up_by_plan_counts_again_only_the_plan_that_changed(
    ledger, leader_user, monkeypatch, change
):
    other = DocumentFactory(doc_number="测办〔2024〕9号", title="第二个方案")
    TaskFactory(document=other, path=["一", "1"], lead=[ledger.c], open_due=dt.date(2024, 7, 1))

    def plans():
        return rollups.rollup_by_plan(period=ledger.q3, today=TODAY, user=leader_user)

    before = plans()
    asked = []
    real = rollups._rollup_by_plan
    monkeypatch.setattr(
        rollups, "_rollup_by_plan", lambda **kw: asked.append(kw.get("documents")) or real(**kw)
    )
    CHANGES[change][0](ledger)
    after = plans()
    assert after == real(period=ledger.q3, today=TODAY, user=leader_user)
    assert [p.document_id for p in after] == [ledger.doc.pk, other.pk]
    assert asked in ([], [{ledger.doc.pk}])  # a report changes no plan; anything else only the first
    if change == "a task is completed":
        assert after != before


def test_a_report_leaves_the_units_figures_of_its_other_periods_current(ledger, leader_user, monkeypatch):
    periods = [ledger.q2, ledger.q3]
    units = [ledger.a.pk, ledger.b.pk]
    before = figures.unit_figures(periods=periods, today=TODAY, unit_ids=units)
    computed = []
    real = figures._compute_figures_many
    monkeypatch.setattr(
        figures,
        "_compute_figures_many",
        lambda **kw: computed.append(([p.pk for p in kw["periods"]], kw["unit_ids"])) or real(**kw),
    )
    _t1_submitted_by_b(ledger)  # b's report of q3
    after = figures.unit_figures(periods=periods, today=TODAY, unit_ids=units)
    assert computed == [([ledger.q3.pk], [ledger.b.pk])]
    assert after[(ledger.b.pk, ledger.q3.pk)] != before[(ledger.b.pk, ledger.q3.pk)]
    assert after[(ledger.b.pk, ledger.q2.pk)] == before[(ledger.b.pk, ledger.q2.pk)]
    # and a change of b's tasks makes every period of b stale again
    computed.clear()
    _t3_completed(ledger)
    figures.unit_figures(periods=periods, today=TODAY, unit_ids=units)
    assert computed == [([ledger.q2.pk, ledger.q3.pk], [ledger.a.pk, ledger.b.pk])]


# --- the figures kept in the process's memory (reports.figures.unit_figures, outside a transaction) ----------


@pytest.mark.django_db(transaction=True)  # kept only outside a transaction
@pytest.mark.parametrize("change", list(CHANGES))
def test_figures_kept_in_memory_follow_every_kind_of_change(ledger, leader_user, change):
    apply, moved = CHANGES[change]
    before = cached(ledger, leader_user)
    assert figures._KEPT, "outside a transaction the figures are kept in memory"
    apply(ledger)
    after = cached(ledger, leader_user)
    unit = getattr(ledger, moved)
    assert after.get(unit.pk) != before[unit.pk], "the change should move this unit's figures"
    figures.figures_forget()
    assert after == fresh(ledger, leader_user)


@pytest.mark.django_db(transaction=True)
def test_figures_kept_in_memory_are_read_as_stamps_and_only_a_changed_units_row_again(ledger, leader_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cached(ledger, leader_user)
    with CaptureQueriesContext(connection) as ctx:
        cached(ledger, leader_user)
    assert not [q for q in ctx.captured_queries if "reports_unitfigures" in q["sql"]]
    _t1_submitted_by_b(ledger)
    read = []
    real = figures._unit_figures_stored
    figures._unit_figures_stored = lambda **kw: read.append(sorted(kw["unit_ids"])) or real(**kw)
    try:
        cached(ledger, leader_user)
    finally:
        figures._unit_figures_stored = real
    assert read == [[ledger.b.pk]]


def test_inside_a_transaction_the_figures_are_not_kept_in_memory(ledger, leader_user):
    cached(ledger, leader_user)
    assert not figures._KEPT


def test_stamps_of_many_units_read_from_the_whole_tables_equal_those_read_by_unit(
    ledger, leader_user, monkeypatch
):
    cached(ledger, leader_user)
    _t1_submitted_by_b(ledger)  # a unit-period counter moves
    _t3_completed(ledger)  # a task counter moves
    pairs = [(u.pk, p.pk) for u in (ledger.a, ledger.b, ledger.c, ledger.k1) for p in (ledger.q2, ledger.q3)]
    pairs.append((10**9, ledger.q3.pk))  # a unit without any counter: 0
    by_unit = figures._stamps(pairs)
    assert set(by_unit) == set(pairs) and by_unit[(10**9, ledger.q3.pk)] == 0
    assert len(set(by_unit.values())) > 2
    monkeypatch.setattr(figures, "STAMPS_BY_UNIT", 0)
    assert figures._stamps(pairs) == by_unit


@pytest.mark.django_db(transaction=True)
def test_the_units_rows_kept_in_the_process_are_used_until_a_revision_moves_and_are_never_shared(
    ledger, leader_user, monkeypatch
):
    """The roll-up by department and by county keep their rows per process with each unit's revision: read again
    with nothing changed, no figures are read; after a report only that unit's; a caller that extends the list it
    got (the 通报 adds the counties to the departments) does not change what the next reader gets."""
    first = cached(ledger, leader_user)
    asked = []
    real = rollups._unit_figures
    monkeypatch.setattr(
        rollups,
        "_unit_figures",
        lambda **kw: asked.append(sorted(kw["units"].values_list("pk", flat=True))) or real(**kw),
    )
    assert cached(ledger, leader_user) == first and asked == []
    departments = rollups.rollup_by_department(period=ledger.q3, today=TODAY, user=leader_user).rows
    departments.append("something else")
    assert (
        "something else"
        not in rollups.rollup_by_department(period=ledger.q3, today=TODAY, user=leader_user).rows
    )
    _t1_submitted_by_b(ledger)
    after = cached(ledger, leader_user)
    # the department page computes B's row again; the county page asks for the changed units of its kind: none
    assert asked == [[ledger.b.pk], []]
    monkeypatch.undo()
    rollups.process_caches_clear()
    figures.figures_forget()
    assert after == fresh(ledger, leader_user) and after != first
