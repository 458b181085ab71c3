"""Celery jobs of the reports app. Each takes ids, never model instances, and calls a service.

The services never import this module: whoever wants deliveries queued passes ``deliveries_enqueue`` as the
reminders service's ``deliver`` (the sweep below, the return of a report, 催报 by hand).
"""

import datetime as dt
import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reform_ledger.queue import send_now
from tasks.services import tasks_refresh_pace_missing

from . import dashboard as dash
from . import reminders, rollups, sweep
from .models import Delivery

logger = logging.getLogger(__name__)


def retry_backoff_max() -> int:
    """The longest wait between two delivery attempts: an hour, and always well below the broker's visibility
    timeout (a job waiting for its retry longer than that is handed to a second worker and sent twice),
    however many attempts REMINDER_DELIVERY_MAX_ATTEMPTS allows."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    visibility = int(options.get("visibility_timeout", 3600))  # Redis' default when not set
    return max(60, min(3600, visibility // 2))


class DeliveryFailed(Exception):
    """One attempt failed (the reason is on the delivery row); Celery retries with its backoff."""


@shared_task(name="reports.jobs.reminders_sweep", acks_late=True)
def reminders_sweep(now_iso: str | None = None) -> dict:
    """The daily beat entry: everything due today, claimed once, one message per unit.

    `now_iso` (an ISO datetime with offset) runs the sweep as of that moment; the beat passes nothing.
    """
    now = dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    if timezone.is_naive(now):
        now = timezone.make_aware(now)
    result = sweep.sweep_run(now=now, deliver=deliveries_enqueue)
    return {
        "created": result.created,
        "messages": result.messages,
        "resumed": result.resumed,
        "digests": result.digests,
        "caught_up": [f"{d:%Y-%m-%d}" for d in result.caught_up],
    }


@shared_task(name="reports.jobs.reminders_catch_up", acks_late=True)
def reminders_catch_up() -> dict:
    """Queued when a worker starts: sweeps missed while the server was down are run now (nothing twice)."""
    result = sweep.sweep_on_start(now=timezone.now(), deliver=deliveries_enqueue)
    return {"created": result.created, "caught_up": [f"{d:%Y-%m-%d}" for d in result.caught_up]}


@worker_ready.connect
def _catch_up_at_start(sender=None, **kwargs):
    """A worker that comes up after an outage catches up the sweeps it missed (every worker may ask: the
    sweep claims what it sends, so two workers starting together send nothing twice)."""
    send_now(reminders_catch_up)


# Celery's own exponential backoff with full jitter: 1, 2, 4 … minutes, each wait capped by retry_backoff_max().
# The attempts are counted on the delivery row and bounded by REMINDER_DELIVERY_MAX_ATTEMPTS there, so Celery's
# own retry count is not limited here.
@shared_task(
    bind=True,
    name="reports.jobs.delivery_send",
    acks_late=True,
    autoretry_for=(DeliveryFailed,),
    retry_backoff=60,
    retry_backoff_max=retry_backoff_max(),
    retry_jitter=True,
    max_retries=None,
)
def delivery_send(self, delivery_id: int) -> str:
    """Send one email or webhook delivery; on failure Celery retries with backoff until the attempts run out."""
    outcome = reminders.delivery_send(delivery_id=delivery_id, now=timezone.now())
    if outcome == "failed" and not self.request.is_eager:
        attempts = Delivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True).first() or 0
        if attempts < reminders.max_attempts():
            raise DeliveryFailed(f"delivery {delivery_id}: attempt {attempts} failed")
        logger.error("催报发送放弃：delivery=%s 已尝试 %s 次", delivery_id, attempts)
    return outcome


def deliveries_enqueue(delivery_ids: list[int]) -> None:
    """Queue one `delivery_send` job per delivery once the transaction commits (nothing is sent for a change that
    is rolled back). A broker that is down leaves the rest pending: `deliveries_retry` and the sweep send them."""

    def queue():
        for delivery_id in delivery_ids:
            if not send_now(delivery_send, delivery_id):
                break

    transaction.on_commit(queue)


@shared_task(name="reports.jobs.deliveries_retry", acks_late=True)
def deliveries_retry() -> dict:
    """Safety net (beat, every few minutes): re-queue failed or stranded deliveries and undispatched claims."""
    dispatched, delivery_ids = reminders.reminders_resume(now=timezone.now(), deliver=deliveries_enqueue)
    return {"dispatched": dispatched, "requeued": len(delivery_ids)}


@shared_task(name="reports.jobs.rollup_figures_warm", acks_late=True)
def rollup_figures_warm() -> int:
    """Daily, just after midnight: today's roll-up figures and the leaders' dashboard, computed before the first
    leader opens it, and yesterday's cached dashboards dropped. Returns the number of figure rows computed."""
    today = timezone.localdate()
    tasks_refresh_pace_missing()  # tasks a bulk path left without their 序时进度 dates
    dash.dashboard_cache_prune(today=today)
    stale = rollups.unit_figures_warm(today=today)
    dash.dashboard_warm(today=today)
    return stale
