"""Celery jobs of the reports app. Each takes ids, never model instances, and calls a service.

Queue them after the transaction that caused them commits:

    transaction.on_commit(lambda: report_returned_notify.delay(report.pk))
"""

import logging
import random

from celery import shared_task
from django.utils import timezone

from . import reminders

logger = logging.getLogger(__name__)


def backoff_seconds(retries: int) -> int:
    """1, 2, 4, 8 … minutes (capped at an hour), with jitter so a recovered SMTP server is not stampeded."""
    base = min(3600, 60 * (2**retries))
    return int(base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not security


@shared_task(name="reports.jobs.reminders_sweep", acks_late=True)
def reminders_sweep(now_iso: str | None = None) -> dict:
    """The daily beat entry: everything due today, claimed once, one message per unit.

    `now_iso` (an ISO datetime with offset) runs the sweep as of that moment; the beat passes nothing.
    """
    import datetime as dt

    now = dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    if timezone.is_naive(now):
        now = timezone.make_aware(now)
    result = reminders.reminders_send_due(now=now, deliver="queue")
    return {"created": result.created, "messages": result.messages, "resumed": result.resumed}


@shared_task(bind=True, name="reports.jobs.delivery_send", acks_late=True, max_retries=None)
def delivery_send(self, delivery_id: int) -> str:
    """Send one email or webhook delivery; on failure retry with backoff until the attempts run out."""
    outcome = reminders.delivery_send(delivery_id=delivery_id, now=timezone.now())
    if outcome == "failed" and not self.request.is_eager:
        from .models import Delivery

        attempts = Delivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True).first() or 0
        if attempts < reminders.max_attempts():
            raise self.retry(countdown=backoff_seconds(attempts - 1))
        logger.error("催报发送放弃：delivery=%s 已尝试 %s 次", delivery_id, attempts)
    return outcome


@shared_task(name="reports.jobs.deliveries_retry", acks_late=True)
def deliveries_retry() -> dict:
    """Safety net (beat, every few minutes): re-queue failed or stranded deliveries and undispatched claims."""
    dispatched, delivery_ids = reminders.reminders_resume(now=timezone.now(), deliver="queue")
    return {"dispatched": dispatched, "requeued": len(delivery_ids)}


@shared_task(name="reports.jobs.report_returned_notify", acks_late=True)
def report_returned_notify(report_id: int) -> int | None:
    """Tell the unit at once that one of its reports was returned."""
    return reminders.report_returned_notify(report_id=report_id, now=timezone.now(), deliver="queue")


@shared_task(name="reports.jobs.rollup_figures_warm", acks_late=True)
def rollup_figures_warm() -> int:
    """Daily, just after midnight: today's roll-up figures and the leaders' dashboard, computed before the first
    leader opens it, and yesterday's cached dashboards dropped. Returns the number of figure rows computed."""
    from tasks.services import tasks_refresh_pace_missing

    from . import rollups

    today = timezone.localdate()
    tasks_refresh_pace_missing()
    rollups.dashboard_cache_prune(today=today)
    stale = rollups.unit_figures_warm(today=today)
    rollups.dashboard_warm(today=today)
    return stale
