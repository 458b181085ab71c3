"""Delivery retries use Celery's own backoff, and no wait reaches the broker's visibility timeout (a job that
waits longer is handed to a second worker and the reminder goes out twice), however many attempts are allowed."""

import pytest
from celery.exceptions import Retry
from celery.utils.time import get_exponential_backoff_interval

from reports import jobs


@pytest.mark.parametrize(
    ("visibility", "cap"), [(None, 1800), (1800, 900), (7200, 3600), (86400, 3600), (60, 60)]
)
def test_the_longest_wait_is_below_the_visibility_timeout(settings, visibility, cap):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = (
        {} if visibility is None else {"visibility_timeout": visibility}
    )
    assert jobs.retry_backoff_max() == cap
    assert cap <= (visibility or 3600)


def test_even_the_twentieth_retry_waits_no_longer_than_the_cap(settings):
    task = jobs.delivery_send
    assert task.autoretry_for == (jobs.DeliveryFailed,) and task.retry_jitter
    settings.REMINDER_DELIVERY_MAX_ATTEMPTS = 20
    visibility = (settings.CELERY_BROKER_TRANSPORT_OPTIONS or {}).get("visibility_timeout", 3600)
    waits = [
        get_exponential_backoff_interval(task.retry_backoff, n, task.retry_backoff_max, full_jitter=False)
        for n in range(20)
    ]
    assert waits[:3] == [60, 120, 240]
    assert max(waits) == task.retry_backoff_max < visibility


@pytest.mark.django_db
def test_a_failed_attempt_is_handed_back_to_celery_with_a_wait_below_the_cap(monkeypatch):
    monkeypatch.setattr(jobs.reminders, "delivery_send", lambda **kwargs: "failed")
    task = jobs.delivery_send
    eager = task.app.conf.task_always_eager
    task.app.conf.task_always_eager = False  # the retry goes to the (in-memory) broker
    try:
        _retry_three_times(task)
    finally:
        task.app.conf.task_always_eager = eager


def _retry_three_times(task):
    for retries in (0, 3, 12):
        task.push_request(
            id=f"job-{retries}",
            args=[123456],
            kwargs={},
            is_eager=False,
            retries=retries,
            called_directly=False,
        )
        try:
            with pytest.raises(Retry) as raised:
                task.run(123456)  # no such delivery: 0 attempts so far, below the maximum
        finally:
            task.pop_request()
        assert 0 <= raised.value.when <= task.retry_backoff_max
