"""The cached leaders' dashboard (reports.DashboardCache) always equals a fresh computation from the ledger.

As in test_figures_cache, each change is written the way the fastest write paths write (queryset update,
bulk_create, delete), so what is checked is the revision triggers (migrations reports.0002 and 0004): every
change of something the dashboard shows must raise the fingerprint. Every case first checks that the change
really moves the dashboard, so a cache that is never invalidated fails here.
"""

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from django.utils import timezone

from departments.models import Role, Unit
from reports import dashboard as dash
from reports.models import DashboardCache, Period, UnitFigures
from tasks.models import Document, Milestone, Progress, Target, Task
from tests.factories import (
    DocumentFactory,
    MilestoneFactory,
    TargetFactory,
    TaskFactory,
    UnitFactory,
    UserFactory,
)
from tests.rollups.conftest import TODAY
from tests.rollups.test_figures_cache import CHANGES as FIGURE_CHANGES

# `sqlite`: scripts/test.sh runs these again on SQLite, whose trigger dialect the embedded default uses
pytestmark = pytest.mark.sqlite


def shown(ledger, user, *, today=TODAY, period=None, limit=dash.DASHBOARD_LIMIT):
    """The dashboard as pages and the API read it (through the cache), as plain data."""
    period = period or ledger.q3
    d = dash.dashboard_overdue(today=today, user=user, period=period, limit=limit)
    return _data(d)


def _data(d):
    # not the lists' hidden tails: kept for merging, they may be shorter after a merge than when computed whole
    data = {k: v for k, v in d.as_data().items() if not k.endswith("_more")}
    return {**data, "period": d.period.pk, "previous": d.previous.pk if d.previous else None}


def fresh(ledger, user, **kwargs):
    """The same, computed with every cache emptied."""
    DashboardCache.objects.all().delete()
    UnitFigures.objects.all().delete()
    return shown(ledger, user, **kwargs)


@pytest.fixture
def orphan(ledger):
    """An overdue task that no unit carries (yet): the leaders see it, no unit's revision covers it."""
    return TaskFactory(
        document=ledger.doc, path=["四", "1"], title="无单位的任务", open_due=dt.date(2024, 8, 1)
    )


def _t1_retitled(ledger, orphan):
    Task.objects.filter(pk=ledger.t1.pk).update(title="县域医共体建设（修订）")


def _t1_renumbered(ledger, orphan):
    Task.objects.filter(pk=ledger.t1.pk).update(path_key="一.(一).9", sort_key="0001.0001.0009")


def _t1_milestone_reworded(ledger, orphan):
    Milestone.objects.filter(task=ledger.t1).update(context="完成紧密型县域医共体建设")


def _t1_milestone_done(ledger, orphan):
    Milestone.objects.filter(task=ledger.t1).update(done=True)


def _t3_milestone_added(ledger, orphan):
    Milestone.objects.bulk_create(
        [Milestone(task=ledger.t3, date=dt.date(2024, 9, 15), text="2024年9月15日前", context="先行试点")]
    )


def _t3_milestone_removed(ledger, orphan):
    Milestone.objects.filter(task=ledger.t3).delete()


def _t3_target_renamed(ledger, orphan):
    Target.objects.filter(pk=ledger.targets.t3_open.pk).update(indicator="药品收入占比")


def _document_renumbered(ledger, orphan):
    Document.objects.filter(pk=ledger.doc.pk).update(doc_number="测办〔2024〕2号")


def _a_renamed(ledger, orphan):
    Unit.objects.filter(pk=ledger.a.pk).update(name="市医疗保障局（更名）")


def _new_task_without_units(ledger, orphan):
    Task.objects.bulk_create(
        [
            Task(
                document=ledger.doc,
                path=["五", "1"],
                path_key="五.1",
                sort_key="0005.0001",
                section=["五"],
                title="新建的超期任务",
                open_due=dt.date(2024, 7, 1),
            )
        ]
    )


def _orphan_retitled(ledger, orphan):
    Task.objects.filter(pk=orphan.pk).update(title="无单位的任务（修订）")


def _orphan_milestone_added(ledger, orphan):
    Milestone.objects.bulk_create([Milestone(task=orphan, date=dt.date(2024, 8, 1), text="2024年8月1日前")])


def _orphan_removed(ledger, orphan):
    Task.objects.filter(pk=orphan.pk).delete()


def _t5_removed(ledger, orphan):
    Task.objects.filter(pk=ledger.t5.pk).delete()  # no reports: the tasks with reports are protected


CHANGES = {
    **{
        name: (lambda ledger, orphan, apply=apply: apply(ledger))
        for name, (apply, _) in FIGURE_CHANGES.items()
    },
    "a task is retitled": _t1_retitled,
    "a task is renumbered": _t1_renumbered,
    "a milestone is reworded": _t1_milestone_reworded,
    "a milestone is done": _t1_milestone_done,
    "a milestone is added": _t3_milestone_added,
    "a milestone is removed": _t3_milestone_removed,
    "a target is renamed": _t3_target_renamed,
    "the document is renumbered": _document_renumbered,
    "a lead unit is renamed": _a_renamed,
    "a task without units is created": _new_task_without_units,
    "a task without units is retitled": _orphan_retitled,
    "a task without units gets a milestone": _orphan_milestone_added,
    "a task without units is deleted": _orphan_removed,
    "a task is deleted for good": _t5_removed,
}


# Changes of roll-up figures that the dashboard does not show (a completed task's lead, a met target's removal or
# due date): checked only against a fresh computation.
NOT_SHOWN = {"a unit's role changes", "a target is removed", "a target's due date moves"}


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_cached_dashboard_follows_every_kind_of_change(ledger, leader_user, orphan, change):
    before = shown(ledger, leader_user)
    assert DashboardCache.objects.count() == 1
    CHANGES[change](ledger, orphan)
    after = shown(ledger, leader_user)
    if change not in NOT_SHOWN:
        assert after != before, "the change should show on the dashboard"
    assert after == fresh(ledger, leader_user)


def test_a_current_dashboard_is_read_in_one_query(ledger, leader_user, django_assert_num_queries):
    first = shown(ledger, leader_user)
    periods = list(Period.objects.all())  # as the page passes them (its period selector lists them)
    with django_assert_num_queries(1):
        again = dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3, periods=periods)
    assert _data(again) == first
    assert again.overdue[0].open_due == dt.date(2024, 6, 30)  # dates and numbers come back as they went in
    assert again.targets_at_risk[0].latest_value is None or again.targets_at_risk[0].latest_value.is_finite()


def test_the_dashboard_is_recomputed_on_the_next_day(ledger, leader_user):
    """T3 (due 2024-09-30) is due soon on 09-10 and overdue on 10-01."""
    on_the_10th = shown(ledger, leader_user)
    on_the_1st = shown(ledger, leader_user, today=dt.date(2024, 10, 1))
    assert [t["id"] for t in on_the_10th["due_soon"]] == [ledger.t3.pk]
    assert ledger.t3.pk in [t["id"] for t in on_the_1st["overdue"]]
    assert on_the_1st == fresh(ledger, leader_user, today=dt.date(2024, 10, 1))


def test_each_period_and_list_length_has_its_own_dashboard(ledger, leader_user, monkeypatch):
    monkeypatch.setattr(dash, "DASHBOARD_PAGE_LIMIT", 1)  # the page's length, short enough to cut a list here
    q3 = shown(ledger, leader_user)
    q2 = shown(ledger, leader_user, period=ledger.q2)
    short = shown(ledger, leader_user, limit=1)
    assert DashboardCache.objects.count() == 3
    assert q3["previous"] == ledger.q2.pk and q2["previous"] is None
    assert len(q3["targets_at_risk"]) == 2 and len(short["targets_at_risk"]) == 1
    assert shown(ledger, leader_user) == q3
    assert q2 == fresh(ledger, leader_user, period=ledger.q2)
    assert short == fresh(ledger, leader_user, limit=1)


def test_other_list_lengths_are_computed_but_not_kept(ledger, leader_user):
    """An API caller trying every ?limit= must not fill the table with one dashboard per value."""
    for limit in (1, 2, 3):
        assert len(shown(ledger, leader_user, limit=limit)["targets_at_risk"]) == min(limit, 2)
    assert not DashboardCache.objects.exists()


def test_the_daily_job_computes_the_leaders_dashboard_before_the_first_leader_arrives(
    ledger, leader_user, django_assert_num_queries
):
    from reports import jobs

    with time_machine.travel("2024-09-11 00:05 +08:00", tick=False):
        jobs.rollup_figures_warm()
    assert set(DashboardCache.objects.values_list("scope", "period_id", "limit")) == {
        ("all", ledger.q3.pk, dash.DASHBOARD_PAGE_LIMIT),
        ("all", ledger.q3.pk, dash.DASHBOARD_LIMIT),
    }
    periods = list(Period.objects.all())
    day = dt.date(2024, 9, 11)
    with django_assert_num_queries(1):
        first = dash.dashboard_overdue(
            today=day, user=leader_user, period=ledger.q3, limit=dash.DASHBOARD_PAGE_LIMIT, periods=periods
        )
    assert _data(first) == fresh(ledger, leader_user, today=day, limit=dash.DASHBOARD_PAGE_LIMIT)


def test_yesterdays_dashboards_are_dropped_by_the_daily_job(ledger, leader_user):
    from reports import jobs

    shown(ledger, leader_user, today=dt.date(2024, 9, 9))
    shown(ledger, leader_user, period=ledger.q2)
    with time_machine.travel("2024-09-10 00:05 +08:00", tick=False):
        jobs.rollup_figures_warm()
    assert not DashboardCache.objects.filter(as_of__lt=TODAY).exists()
    assert DashboardCache.objects.filter(as_of=TODAY, period_id=ledger.q2.pk).exists()  # today's are kept


def test_a_reporter_is_never_served_the_whole_ledgers_dashboard(ledger, leader_user):
    reporter = UserFactory(username="reporter_c", role=Role.REPORTER, unit=ledger.c)
    everyone = shown(ledger, leader_user)
    own = shown(ledger, reporter)
    assert [u["unit_id"] for u in own["units"]] == [ledger.c.pk]
    assert own["overdue"] == [] and everyone["overdue"] != []
    assert DashboardCache.objects.filter(scope=f"unit:{ledger.c.pk}").exists()
    assert own == fresh(ledger, reporter)
    assert shown(ledger, leader_user) == everyone


def test_a_change_made_while_the_dashboard_is_computed_is_not_hidden_by_the_cache(
    ledger, leader_user, orphan, monkeypatch
):
    """A dashboard computed before a change but stored after it carries the fingerprint read before the change,
    so the next read sees it as stale instead of serving it until tomorrow."""
    real = dash._dashboard_compute
    done = []

    def compute_then_change(**kwargs):
        d = real(**kwargs)
        if not done:
            done.append(True)
            _t1_retitled(ledger, orphan)  # lands after the computation, before the row is written
        return d

    monkeypatch.setattr(dash, "_dashboard_compute", compute_then_change)
    first = shown(ledger, leader_user)
    monkeypatch.setattr(dash, "_dashboard_compute", real)
    second = shown(ledger, leader_user)
    assert [t["title"] for t in second["overdue"]] != [t["title"] for t in first["overdue"]]
    assert second == fresh(ledger, leader_user)


def test_the_unit_zero_row_is_raised_only_for_tasks_no_unit_carries(ledger, orphan):
    from reports.models import UnitRevision

    def zero():
        return UnitRevision.objects.filter(unit_id=0).values_list("rev", flat=True).first() or 0

    start = zero()
    Task.objects.filter(pk=ledger.t1.pk).update(title="有单位的任务改名")
    assert zero() == start
    Task.objects.filter(pk=orphan.pk).update(title="无单位的任务改名")
    assert zero() == start + 1
    MilestoneFactory(task=orphan, date=dt.date(2024, 9, 1))
    assert zero() == start + 2
    Task.objects.filter(pk=ledger.t1.pk).update(deleted_at=timezone.now())
    assert zero() == start + 2


def test_a_migrate_empties_the_caches_since_a_deploy_may_change_how_they_are_computed(ledger, leader_user):
    from django.core.management.sql import emit_post_migrate_signal

    shown(ledger, leader_user)
    assert DashboardCache.objects.exists() and UnitFigures.objects.exists()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert not DashboardCache.objects.exists() and not UnitFigures.objects.exists()
    assert shown(ledger, leader_user) == fresh(ledger, leader_user)


REPORT_ONLY = ("a report is submitted", "a report is created", "a report is deleted")


@pytest.mark.parametrize("change", REPORT_ONLY)
def test_after_a_report_only_the_units_part_is_computed_again(
    ledger, leader_user, orphan, change, monkeypatch
):
    """A report saved changes the ranking and the report figures, never what is read from the tasks alone: the
    tasks' part is taken from the cached row (a full computation here would fail the test)."""
    before = shown(ledger, leader_user)
    CHANGES[change](ledger, orphan)

    def refuse(**kwargs):
        raise AssertionError("the tasks' part should have been kept")

    with monkeypatch.context() as m:
        m.setattr(dash, "_dashboard_compute", refuse)
        after = shown(ledger, leader_user)
    assert after != before
    assert {
        k: after[k] for k in ("overdue", "due_soon", "light_counts", "targets_at_risk", "pace_counts")
    } == {k: before[k] for k in ("overdue", "due_soon", "light_counts", "targets_at_risk", "pace_counts")}
    assert after == fresh(ledger, leader_user)
    with monkeypatch.context() as m:  # and the row now holds the new figures
        m.setattr(dash, "_dashboard_compute", refuse)
        m.setattr(dash, "_dashboard_units_part", refuse)
        assert shown(ledger, leader_user) == after


def test_a_reported_percent_reaches_the_tasks_part(ledger, leader_user):
    """序时进度 moves with the percent a report sets on its task: the whole dashboard is computed again."""
    before = shown(ledger, leader_user)
    Task.objects.filter(pk=ledger.t3.pk).update(
        pace_start=dt.date(2024, 1, 1), pace_behind_on=dt.date(2024, 9, 1), pace_measured=True
    )
    after = shown(ledger, leader_user)
    assert after["pace_counts"] != before["pace_counts"]
    assert after == fresh(ledger, leader_user)


def test_after_a_report_only_its_units_figures_are_read_again(ledger, leader_user, orphan, monkeypatch):
    """The ranking is updated in place: the other units' items come from the cached row, not from UnitFigures,
    and the changed unit's from the ledger, without its target figures or its UnitFigures rows (`ranking_only`)."""
    shown(ledger, leader_user)
    CHANGES["a report is submitted"](ledger, orphan)  # unit b's report
    asked = []
    real = dash._unit_figures

    def spy(**kwargs):
        asked.append(
            (sorted(kwargs["units"].values_list("pk", flat=True)), kwargs.get("ranking_only", False))
        )
        return real(**kwargs)

    monkeypatch.setattr(dash, "_unit_figures", spy)
    written = UnitFigures.objects.filter(unit_id=ledger.b.pk).values_list("rev", flat=True)
    before = sorted(written)
    after = shown(ledger, leader_user)
    assert asked == [([ledger.b.pk], True)]
    assert sorted(written) == before  # nothing computed for the ranking alone was kept as the unit's figures
    monkeypatch.setattr(dash, "_unit_figures", real)
    assert after == fresh(ledger, leader_user)


# --- the tasks' part kept per plan -------------------------------------------------------------------------


@pytest.fixture
def second_plan(ledger):
    """A second plan whose overdue and due-soon tasks and targets at risk fall between the first plan's, so that
    merging the cached lists of one plan with the other's recomputed ones is tested in every position."""
    doc = DocumentFactory(doc_number="测办〔2024〕9号", title="第二个方案")

    def task(n, open_due, **kwargs):
        task = TaskFactory(document=doc, path=["一", str(n)], lead=[ledger.c], open_due=open_due, **kwargs)
        MilestoneFactory(task=task, date=open_due, text=f"{open_due:%Y年%m月%d日}前")
        return task

    p1 = task(1, dt.date(2024, 6, 1))
    p2 = task(2, dt.date(2024, 7, 15))
    p3 = task(3, dt.date(2024, 9, 20))
    task(4, dt.date(2024, 10, 5))
    TargetFactory(
        task=p1, indicator="第二方案指标甲", op=">=", value=90, due=dt.date(2024, 9, 15), latest_value=80
    )
    TargetFactory(task=p3, indicator="第二方案指标乙", op=">=", value=90, due=dt.date(2024, 10, 30))
    return SimpleNamespace(doc=doc, p1=p1, p2=p2, p3=p3, idle=UnitFactory(name="没有任务的单位"))


def _p2_completed(ledger, orphan, plan):
    Task.objects.filter(pk=plan.p2.pk).update(status=Progress.COMPLETED)


def _p1_target_met(ledger, orphan, plan):
    Target.objects.filter(task=plan.p1).update(latest_value=95)


def _unit_without_tasks_renamed(ledger, orphan, plan):
    # raises the tasks' side (the unit's task_rev) but no plan: every cached plan is kept
    Unit.objects.filter(pk=plan.idle.pk).update(name="没有任务的单位（改名）")


PLAN_CHANGES = {
    **{
        name: (lambda ledger, orphan, plan, apply=apply: apply(ledger, orphan))
        for name, apply in CHANGES.items()
    },
    "the second plan's task is completed": _p2_completed,
    "the second plan's target is met": _p1_target_met,
    "a unit without tasks is renamed": _unit_without_tasks_renamed,
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limit", [1, 2, 50])
@pytest.mark.parametrize("change", list(PLAN_CHANGES))
def test_a_change_in_one_plan_recomputes_that_plans_part_and_equals_a_fresh_dashboard(
    ledger, leader_user, orphan, second_plan, monkeypatch, change, limit
):
    monkeypatch.setattr(dash, "DASHBOARD_LIMIT", limit)  # kept at this length
    outcomes = []
    real = dash._tasks_part_changed
    monkeypatch.setattr(
        dash, "_tasks_part_changed", lambda *a, **kw: outcomes.append(real(*a, **kw)) or outcomes[-1]
    )
    shown(ledger, leader_user, limit=limit)
    PLAN_CHANGES[change](ledger, orphan, second_plan)
    after = dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3, limit=limit)
    DashboardCache.objects.all().delete()
    UnitFigures.objects.all().delete()
    whole = dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3, limit=limit)
    assert _data(after) == _data(whole)
    # What is kept beyond the shown lists is the start of what a whole computation keeps, never something else.
    for shown_, more in (
        ("overdue", "overdue_more"),
        ("due_soon", "due_soon_more"),
        ("targets_at_risk", "targets_more"),
    ):
        kept = [vars(i) for i in getattr(after, shown_) + getattr(after, more)]
        assert kept == [vars(i) for i in getattr(whole, shown_) + getattr(whole, more)][: len(kept)]
    if limit == 50 and change not in (*NOT_SHOWN, *REPORT_ONLY):
        # every list is whole at this length: the part of the plan that did not change is kept
        assert len(outcomes) == 1 and outcomes[0] is not None


@pytest.mark.django_db(transaction=True)
def test_two_plans_changed_at_once_are_each_counted_even_when_one_fills_the_list(
    ledger, leader_user, orphan, second_plan, monkeypatch
):
    """The targets at risk of the changed plans are read with a count per plan riding along the first rows; a
    changed plan none of whose targets made those rows is counted by a statement of its own."""
    monkeypatch.setattr(dash, "DASHBOARD_LIMIT", 1)  # two rows kept: the first plan's new targets fill them
    for n in (3, 4):  # four plans, two of them changed: under the share that recomputes everything
        doc = DocumentFactory(doc_number=f"测办〔2024〕{n}0号", title=f"第{n}个方案")
        TaskFactory(document=doc, path=["一", "1"], lead=[ledger.c], open_due=dt.date(2024, 11, 1))
    outcomes = []
    real = dash._tasks_part_changed
    monkeypatch.setattr(
        dash, "_tasks_part_changed", lambda *a, **kw: outcomes.append(real(*a, **kw)) or outcomes[-1]
    )
    before = shown(ledger, leader_user, limit=1)
    for day in (1, 2):  # earlier than any target at risk of either plan
        TargetFactory(task=ledger.t1, indicator=f"新指标{day}", op=">=", value=90, due=dt.date(2024, 1, day))
    TargetFactory(
        task=second_plan.p2, indicator="第二方案指标丙", op=">=", value=90, due=dt.date(2024, 12, 1)
    )
    after = shown(ledger, leader_user, limit=1)
    assert outcomes and outcomes[-1] is not None  # the two plans' part, not a whole computation
    assert after["targets_at_risk_count"] == before["targets_at_risk_count"] + 3
    at_risk = lambda data: {int(k): v["at_risk"] for k, v in data["plan_counts"].items()}  # noqa: E731
    assert at_risk(after)[second_plan.doc.pk] == at_risk(before)[second_plan.doc.pk] + 1
    kept = outcomes[-1]["targets_at_risk"] + outcomes[-1]["targets_more"]
    assert [t.document_id for t in kept] == [
        ledger.doc.pk,
        ledger.doc.pk,
    ]  # the second plan is not among them
    assert after == fresh(ledger, leader_user, limit=1)
