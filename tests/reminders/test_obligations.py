import pytest

from reports.models import ReportStatus
from reports.obligations import (
    missing_counts_by_unit,
    missing_for_period,
    obligations_for_period,
    units_with_missing_reports,
)
from tests.factories import TaskFactory

from .conftest import submit

pytestmark = pytest.mark.django_db


def pairs(qs):
    return sorted((row["task_id"], row["unit_id"]) for row in qs)


def test_lead_responsible_and_county_units_each_owe_one_report_per_task(
    ledger, unit_a, unit_b, county, period
):
    t1, t2 = ledger["t1"], ledger["t2"]
    assert pairs(obligations_for_period(period=period)) == sorted(
        [(t1.pk, unit_a.pk), (t1.pk, unit_b.pk), (t2.pk, unit_a.pk), (t2.pk, county.pk)]
    )


def test_a_unit_listed_twice_on_a_task_owes_one_report(db, unit_a, period):
    task = TaskFactory(lead=[unit_a], responsible=[unit_a])
    assert pairs(obligations_for_period(period=period)) == [(task.pk, unit_a.pk)]
    assert list(missing_counts_by_unit(period=period)) == [{"unit_id": unit_a.pk, "reports_missing": 1}]


def test_submitted_and_accepted_reports_meet_the_obligation_draft_and_returned_do_not(
    ledger, unit_a, unit_b, county, period
):
    submit(ledger["t1"], unit_a, period, status=ReportStatus.ACCEPTED)
    submit(ledger["t2"], unit_a, period, status=ReportStatus.DRAFT)
    submit(ledger["t1"], unit_b, period, status=ReportStatus.SUBMITTED)
    submit(ledger["t2"], county, period, status=ReportStatus.RETURNED)
    assert pairs(missing_for_period(period=period)) == sorted(
        [(ledger["t2"].pk, unit_a.pk), (ledger["t2"].pk, county.pk)]
    )
    units = {u.name: u.reports_missing for u in units_with_missing_reports(period=period)}
    assert units == {unit_a.name: 1, county.name: 1}


def test_deleted_tasks_and_inactive_units_owe_nothing(ledger, unit_b, period):
    from django.utils import timezone

    ledger["t2"].deleted_at = timezone.now()
    ledger["t2"].save()
    unit_b.is_active = False
    unit_b.save()
    assert pairs(obligations_for_period(period=period)) == [
        (ledger["t1"].pk, ledger["t1"].task_units.get(role="lead").unit_id)
    ]


def test_the_count_per_unit_is_one_query(ledger, period, django_assert_num_queries):
    with django_assert_num_queries(1):
        list(units_with_missing_reports(period=period))
