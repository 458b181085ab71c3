"""One report per task, unit and period, enforced by the database: concurrent creation and submission from
several threads (each with its own PostgreSQL connection) never yields a second report or a second submission."""

import threading

import pytest
from django.db import IntegrityError, connection, connections

from departments.services import ApplicationError
from reports.models import Report, ReportRevision, ReportStatus
from reports.services import report_get_or_create_for, report_save_draft, report_submit

pytestmark = [pytest.mark.integration]

THREADS = 8


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("并发唯一约束测试需要 PostgreSQL（设置 DATABASE_URL；make test 会自动设置）")


def run_together(func, n=THREADS):
    """Start n threads that call func(i) at the same moment; return their results or exceptions."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        try:
            barrier.wait(timeout=10)
            results[i] = func(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on by the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_concurrent_first_saves_create_exactly_one_report(postgres, task, unit_a, period, reporter):
    def start(i):
        report, created = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)
        return report.pk, created

    results = run_together(start)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({pk for pk, _ in results}) == 1
    assert sum(1 for _, created in results if created) == 1
    assert Report.objects.filter(task=task, unit=unit_a, period=period).count() == 1


def test_concurrent_submissions_submit_once(postgres, task, unit_a, period, reporter):
    def fill_and_submit(i):
        report, _ = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)
        report = report_save_draft(
            report=report, data={"text": f"第 {i} 个窗口的进展"}, version=None, actor=reporter
        )
        return report_submit(report=report, actor=reporter).pk

    results = run_together(fill_and_submit)
    successes = [r for r in results if isinstance(r, int)]
    refusals = [r for r in results if isinstance(r, ApplicationError)]
    assert len(successes) == 1, results
    assert len(refusals) == THREADS - 1  # "已提交" for the others, never a second row
    report = Report.objects.get(task=task, unit=unit_a, period=period)
    assert report.status == ReportStatus.SUBMITTED
    assert ReportRevision.objects.filter(report=report, action="submit").count() == 1


def test_the_constraint_itself_refuses_a_duplicate_row(postgres, task, unit_a, period):
    Report.objects.create(task=task, unit=unit_a, period=period)
    with pytest.raises(IntegrityError):
        Report.objects.create(task=task, unit=unit_a, period=period)


def test_a_transaction_that_loses_a_deadlock_is_run_again_whole(postgres, unit_a, unit_b):
    """Two transactions lock two rows in opposite order: PostgreSQL aborts one with a deadlock, and
    retry_transaction runs it again, so both callers succeed and nothing is half-written."""
    from departments.models import Unit
    from reform_ledger.db import retry_transaction

    barrier = threading.Barrier(2)
    calls = []

    @retry_transaction
    def rename_both(first, second, label):
        calls.append(label)
        Unit.objects.filter(pk=first.pk).update(short_name=f"{label}1")
        if len(calls) <= 2:  # only the first round meets at the barrier: that is where they deadlock
            try:
                barrier.wait(timeout=5)
            except threading.BrokenBarrierError:
                pass
        Unit.objects.filter(pk=second.pk).update(short_name=f"{label}2")
        return label

    results = run_together(
        lambda i: rename_both(*((unit_a, unit_b) if i == 0 else (unit_b, unit_a)), "AB"[i]), n=2
    )
    assert sorted(results) == ["A", "B"], results
    assert len(calls) == 3  # one of the two ran twice
    names = sorted(Unit.objects.filter(pk__in=[unit_a.pk, unit_b.pk]).values_list("short_name", flat=True))
    # the winner wrote both rows after the loser's retry, or the other way round: never a mix of one half each
    assert names in (["A1", "A2"], ["B1", "B2"]), names


def test_the_deadline_day_rush_on_shared_tasks_stores_every_submission_without_error(postgres, db):
    """Eight units submit reports with target values on the same six tasks at once, each in another order:
    every report is stored and submitted exactly once, no request fails (the load test's deadlock)."""
    import datetime as dt
    from decimal import Decimal

    from departments.models import Role
    from tests.factories import PeriodFactory, TargetFactory, TaskFactory, UnitFactory, UserFactory

    units = [UnitFactory(name=f"并发单位{i}") for i in range(THREADS)]
    users = [UserFactory(username=f"rush{i}", role=Role.REPORTER, unit=u) for i, u in enumerate(units)]
    period = PeriodFactory(year=2024, quarter=4, due_date=dt.date(2024, 12, 20), is_open=True)
    tasks = []
    for n in range(6):
        t = TaskFactory(lead=[units[n % THREADS]], responsible=[u for u in units if u != units[n % THREADS]])
        TargetFactory(task=t, indicator=f"指标{n}", op=">=", value=Decimal("90"), unit="%")
        tasks.append(t)

    def rush(i):
        order = tasks[i % 6 :] + tasks[: i % 6]
        if i % 2:
            order.reverse()
        for t in order:
            report, _ = report_get_or_create_for(task=t, unit=units[i], period=period, actor=users[i])
            target = t.targets.first()
            report = report_save_draft(
                report=report,
                data={
                    "text": f"单位{i}的进展",
                    "progress": "推进中",
                    "target_values": {str(target.pk): str(80 + i)},
                },
                version=None,
                actor=users[i],
            )
            report_submit(report=report, actor=users[i])
        return i

    results = run_together(rush)
    assert results == list(range(THREADS)), results
    assert Report.objects.filter(period=period, status=ReportStatus.SUBMITTED).count() == THREADS * 6
    assert ReportRevision.objects.filter(report__period=period, action="submit").count() == THREADS * 6
