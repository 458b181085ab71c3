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
