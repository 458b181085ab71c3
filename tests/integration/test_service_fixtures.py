"""The service fixtures work: a real worker executes jobs sent through Redis and writes to the test DB."""

import uuid

import pytest

from departments.models import AuditEntry
from reform_ledger.celery import ping
from tests.integration.services import wait_for

pytestmark = pytest.mark.integration


def test_redis_fixture_answers_ping(redis_url):
    import redis

    assert redis.Redis.from_url(redis_url).ping() is True


def test_tests_run_on_postgresql_when_database_url_is_set(db):
    import os

    from django.db import connection

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("DATABASE_URL 不是 PostgreSQL")
    assert connection.vendor == "postgresql"
    assert connection.settings_dict["NAME"].startswith("test_")


def test_job_sent_through_redis_is_executed_by_the_real_worker(celery_worker):
    token = f"ping-{uuid.uuid4()}"
    result = ping.delay(token)
    assert result.id  # queued, not run in this process
    entry = wait_for(
        lambda: AuditEntry.objects.filter(action="system.ping", message=token).first(),
        message=f"worker to record {token}",
    )
    assert entry.object_id != ""  # the worker's pid
    assert int(entry.object_id) != __import__("os").getpid()


def test_job_queued_while_worker_is_down_runs_after_restart(celery_worker):
    celery_worker.stop()
    token = f"ping-{uuid.uuid4()}"
    ping.delay(token)
    assert not AuditEntry.objects.filter(message=token).exists()
    celery_worker.start()
    wait_for(lambda: AuditEntry.objects.filter(message=token).exists(), message="job to run after restart")
    assert AuditEntry.objects.filter(message=token).count() == 1


def test_killed_worker_can_be_started_again(celery_worker):
    assert celery_worker.kill() is not None
    assert not celery_worker.running
    celery_worker.start()
    token = f"ping-{uuid.uuid4()}"
    ping.delay(token)
    wait_for(lambda: AuditEntry.objects.filter(message=token).exists(), message="job after kill and start")
