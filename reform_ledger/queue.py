"""Sending Celery jobs without letting a broker outage break the request.

Callers send after the surrounding transaction commits (`transaction.on_commit`, so a rolled-back change sends
nothing; see reports.jobs.deliveries_enqueue). If Redis is down, sending fails: the failure is logged and
swallowed, because every job we queue from a request has a database-driven safety net (the reminder sweep and
`deliveries_retry` pick up pending rows) and the user's change is already saved. A 500 page would tell them it was not.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def send_now(job, *args, **kwargs) -> bool:
    """Send one job to the broker at once; False (and a log line) if the broker refused or was unreachable."""
    try:
        job.delay(*args, **kwargs)
    except Exception:  # noqa: BLE001 - kombu/redis raise many kinds; none of them may reach the user
        name = getattr(job, "name", None) or getattr(job, "__name__", repr(job))
        logger.exception("任务入队失败（消息队列不可用？），将由定时扫描补发：%s args=%r", name, args)
        return False
    return True
