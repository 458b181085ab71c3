"""Redis down: reporters and the secretariat keep working; what could not be queued stays pending in the database.

A private redis-server is the Celery broker here (the shared one must stay up for other tests): a real worker
runs against it, the test stops it and works through the API and pages. Pending deliveries are what the
database-driven safety nets (`deliveries_retry`, the daily sweep) send once Redis is back.
"""

import datetime as dt
import logging

import pytest
from django.utils import timezone

from departments.models import Role
from reports.models import Notification, Reminder, Report, ReportRevision
from tests.factories import PeriodFactory, TaskFactory, UnitFactory, UserFactory

pytestmark = pytest.mark.integration

SWEEP_AT = "2024-09-13T08:30:00+08:00"  # 7 days before 2024 Q3 is due (Fri 2024-09-20)


@pytest.fixture
def celery_broker_url(private_redis):
    """The worker and the app use the private Redis this test can stop."""
    return private_redis.url


@pytest.fixture
def ledger(transactional_db):
    period = PeriodFactory(year=2024, quarter=3, due_date=dt.date(2024, 9, 20), is_open=True)
    unit = UnitFactory(name="市故障测试局")
    quiet = UnitFactory(name="市未报送测试局")  # never submits: the sweep must remind it
    reporter = UserFactory(
        username="fault_rep", role=Role.REPORTER, unit=unit, email="fault_rep@example.gov.cn"
    )
    UserFactory(username="quiet_rep", role=Role.REPORTER, unit=quiet, email="quiet_rep@example.gov.cn")
    secretariat_unit = UnitFactory(name="市医改办（故障测试）", kind="secretariat")
    secretariat = UserFactory(username="fault_sec", role=Role.SECRETARIAT, unit=secretariat_unit)
    task = TaskFactory(lead=[unit])
    TaskFactory(lead=[quiet])
    return {
        "period": period,
        "unit": unit,
        "quiet": quiet,
        "reporter": reporter,
        "sec": secretariat,
        "task": task,
    }


def test_with_redis_down_reports_are_saved_submitted_and_returned_and_held_back_reminders_go_out_when_it_returns(
    celery_worker, private_redis, ledger, api_as, client_as, caplog, monkeypatch
):
    private_redis.stop()
    rep = api_as(ledger["reporter"])
    sec = api_as(ledger["sec"])

    with caplog.at_level(logging.ERROR, logger="reform_ledger.queue"):
        created = rep.post(
            "/api/reports/",
            {"task": ledger["task"].pk, "period": ledger["period"].pk, "text": "已完成方案起草。"},
            format="json",
        )
        assert created.status_code == 201, created.content
        report = created.json()
        saved = rep.patch(
            f"/api/reports/{report['id']}/", {"version": report["version"], "percent": 40}, format="json"
        )
        assert saved.status_code == 200, saved.content
        submitted = rep.post(f"/api/reports/{report['id']}/submit/", {"version": saved.json()["version"]})
        assert submitted.status_code == 200, submitted.content

        # Returning queues the email/webhook job: the enqueue fails, the request must not.
        returned = sec.post(f"/api/reports/{report['id']}/return/", {"reason": "请补充数据"}, format="json")
        assert returned.status_code == 200, returned.content
        resubmitted = rep.post(
            f"/api/reports/{report['id']}/submit/", {"version": returned.json()["version"]}
        )
        assert resubmitted.status_code == 200, resubmitted.content

        # 催报 by hand: the reminder and its email delivery are written, the send job cannot be queued.
        page = client_as(ledger["sec"]).post(
            "/reminders/send/", {"unit": ledger["quiet"].pk, "period": ledger["period"].pk, "escalation": "0"}
        )
        assert page.status_code == 302, page.content.decode()[:500]

    stored = Report.objects.get(pk=report["id"])
    assert stored.status == "submitted" and stored.percent == 40
    assert ReportRevision.objects.filter(report=stored, action="submit").count() == 2
    assert Notification.objects.filter(user=ledger["reporter"]).exists()  # the return reached the inbox
    manual = Reminder.objects.get(kind="manual")
    assert manual.deliveries.get(channel="inbox").status == "sent"  # the inbox needs no broker
    assert manual.deliveries.get(channel="email").status == "pending"  # held back: its job was not queued

    # Redis is back, and the worker that lived through the outage reconnects. The beat's `deliveries_retry`
    # (every 15 minutes) sends what was held back; pretend its next run is due by dating the dispatch back.
    from kombu import pools

    from reform_ledger.celery import app
    from reports.jobs import deliveries_retry
    from reports.models import Delivery
    from tests.integration.services import wait_for

    private_redis.start()
    # This process stands in for the beat. Celery reads CELERY_BROKER_URL from the environment before its
    # configuration (make test exports the shared Redis there), so point both at the private one.
    monkeypatch.setenv("CELERY_BROKER_URL", private_redis.url)
    app.conf.broker_url = private_redis.url
    pools.reset()  # the beat opens a fresh connection on its next tick
    app._pool = None
    app.amqp._producer_pool = None
    Reminder.objects.filter(pk=manual.pk).update(dispatched_at=timezone.now() - dt.timedelta(minutes=20))
    deliveries_retry.delay()
    wait_for(
        lambda: Delivery.objects.filter(reminder=manual, channel="email", status="sent").exists(),
        timeout=90,
        message="the held-back 催报 email to be sent once Redis is back",
    )
