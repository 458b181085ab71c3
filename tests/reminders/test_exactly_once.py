"""Claims first, sends second: reruns, a second beat and a run cut short never duplicate or lose reminders."""

import pytest
from django.core import mail

from reports.models import Delivery, Notification, Reminder
from reports.reminders import (
    reminders_claim,
    reminders_dispatch,
    reminders_plan,
    reminders_resume,
    reminders_send_due,
)

from .conftest import at

pytestmark = pytest.mark.django_db


def test_a_claim_returns_only_the_rows_this_call_inserted(ledger):
    now = at("2024-09-13")
    planned = reminders_plan(now=now)
    first = reminders_claim(planned=planned, now=now)
    second = reminders_claim(planned=planned, now=now)  # the second beat
    assert len(first) == 3 and second == []
    assert Reminder.objects.count() == 3


def test_dispatching_the_same_claims_twice_sends_once(ledger, reporter):
    now = at("2024-09-13")
    ids = reminders_claim(planned=reminders_plan(now=now), now=now)
    reminders_dispatch(reminder_ids=ids, now=now, deliver="sync")
    outbox = len(mail.outbox)
    again = reminders_dispatch(reminder_ids=ids, now=now, deliver="sync")  # a retried job
    assert again.reminders == 0 and again.pending_delivery_ids == []
    assert len(mail.outbox) == outbox
    assert reporter.notifications.count() == 1


def test_a_run_killed_after_claiming_is_finished_by_the_next_run(ledger, reporter):
    now = at("2024-09-13")
    # The worker died right after the INSERT: claims exist, nothing was dispatched or sent.
    reminders_claim(planned=reminders_plan(now=now), now=now)
    assert not Notification.objects.exists()
    result = reminders_send_due(now=at("2024-09-13", hour=9), deliver="sync")
    assert result.created == 0 and result.resumed == 3
    assert Reminder.objects.filter(dispatched_at__isnull=True).count() == 0
    assert reporter.notifications.count() == 1
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_run_killed_before_sending_leaves_pending_deliveries_that_are_sent_once(ledger, unit_a):
    now = at("2024-09-13")
    reminders_send_due(now=now, deliver="none")  # dispatched, deliveries written, the jobs never ran
    pending = sorted(Delivery.objects.filter(status="pending").values_list("id", flat=True))
    assert len(pending) >= 2 and not mail.outbox
    _, requeued = reminders_resume(now=at("2024-09-13", minute=35), deliver="sync")
    assert requeued == []  # five minutes on, their jobs are probably still queued
    _, requeued = reminders_resume(now=at("2024-09-13", hour=9), deliver="sync")
    assert sorted(requeued) == pending
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    sent = len(mail.outbox)
    reminders_resume(now=at("2024-09-13", hour=10), deliver="sync")
    assert len(mail.outbox) == sent


def test_stale_claims_from_long_ago_are_not_sent_late(ledger, reporter):
    old = at("2024-09-13")
    reminders_claim(planned=reminders_plan(now=old), now=old)
    reminders_send_due(now=at("2024-09-23"), deliver="sync")  # ten days later: overdue1 only
    assert list(reporter.notifications.values_list("kind", flat=True)) == ["period_overdue"]


def test_the_retry_job_requeues_failed_deliveries(
    ledger, unit_a, settings, django_capture_on_commit_callbacks
):
    from reports.jobs import deliveries_retry

    settings.EMAIL_BACKEND = "tests.reminders.backends.SMTPDownBackend"
    reminders_send_due(now=at("2024-09-13"), deliver="sync")
    assert Delivery.objects.filter(channel="email", status="failed").count() >= 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    import time_machine

    with (
        time_machine.travel(at("2024-09-13", hour=9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = deliveries_retry.delay().get()
    assert result["requeued"] >= 2
    assert set(Delivery.objects.filter(channel="email").values_list("status", flat=True)) == {"sent"}
    assert len(mail.outbox) == Delivery.objects.filter(channel="email").count()
