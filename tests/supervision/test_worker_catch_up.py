"""A real Celery worker (Redis, PostgreSQL) that starts after an outage catches up the sweep it missed: a notice
whose reply date fell on the missed workday is reminded at start, marked 补发, and a second start sends nothing.

Run by `make test`; skipped cleanly without PostgreSQL and Redis."""

import datetime as dt

import pytest
from django.utils import timezone

from reports import workdays
from reports.models import Notice, Reminder, SweepRun

pytestmark = pytest.mark.integration


def _workday_before(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while not workdays.is_workday(day):
        day -= dt.timedelta(days=1)
    return day


@pytest.fixture(autouse=True)
def frozen_now():
    """This module runs on the real clock: the worker process cannot share a frozen one."""
    yield None


def test_a_worker_starting_after_an_outage_catches_up_the_missed_sweep_once(
    celery_worker, world, unit_a, secretariat
):
    from tests.integration.services import wait_for

    today = timezone.localdate()
    missed = _workday_before(today)
    SweepRun.objects.create(
        day=_workday_before(missed), started_at=timezone.now(), finished_at=timezone.now()
    )
    notice = Notice.objects.create(
        year=today.year, seq=1, number=f"督办〔{today.year}〕1号", unit=unit_a, text="请整改", reply_by=missed,
        issued_by=secretariat, issued_at=timezone.now() - dt.timedelta(days=10),
    )  # fmt: skip
    notice.tasks.set([world["t1"]])
    celery_worker.restart()  # the fixture's worker started before the data existed; this start is the one we test
    wait_for(
        lambda: SweepRun.objects.filter(day=missed, caught_up=True, finished_at__isnull=False).exists(),
        timeout=60,
        message="the missed sweep to be caught up by the starting worker",
    )
    reminder = Reminder.objects.get(kind=Reminder.Kind.NOTICE_DUE, stage__endswith=":d0")
    assert "补发" in reminder.message and notice.number in reminder.message
    count = Reminder.objects.count()
    celery_worker.restart()
    import time

    time.sleep(8)  # the second start's catch-up job runs and finds every claim taken
    assert Reminder.objects.count() == count
