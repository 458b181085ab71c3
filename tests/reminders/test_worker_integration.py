"""Reminders through Redis and a real Celery worker process (PostgreSQL test database).

Run by `make test` (it starts PostgreSQL and Redis); skipped cleanly without them.
"""

import select
import socket
import threading
import time

import pytest

from departments.models import Role
from reports.models import Delivery, Notification, Reminder
from tests.factories import PeriodFactory, TaskFactory, UnitFactory, UserFactory

from .webhook_server import RobotServer

pytestmark = pytest.mark.integration

SWEEP_AT = "2024-09-13T08:30:00+08:00"  # d7 of 2024 Q3 (due Fri 2024-09-20)


def wait_for(predicate, *, timeout=60, message="condition"):
    from tests.integration.services import wait_for as _wait_for

    return _wait_for(predicate, timeout=timeout, message=message)


def small_ledger(n_units: int, *, webhook: str = ""):
    import datetime as dt

    PeriodFactory(year=2024, quarter=3, due_date=dt.date(2024, 9, 20), is_open=True)
    units = []
    for i in range(n_units):
        unit = UnitFactory(name=f"市集成测试局{i}", webhook_url=f"{webhook}/robot/{i}" if webhook else "")
        UserFactory(username=f"it_rep{i}", role=Role.REPORTER, unit=unit, email=f"it_rep{i}@example.gov.cn")
        TaskFactory(lead=[unit])
        units.append(unit)
    return units


def test_a_sweep_queued_through_redis_is_run_by_the_worker_and_the_reminders_appear(celery_worker):
    from reports.jobs import reminders_sweep

    small_ledger(3)
    result = reminders_sweep.delay(SWEEP_AT)
    assert result.id and not Reminder.objects.exists()  # queued, not run here
    wait_for(lambda: Reminder.objects.filter(dispatched_at__isnull=False).count() == 3, message="3 reminders")
    wait_for(
        lambda: Delivery.objects.filter(channel="email", status="sent").count() == 3,
        message="the worker to send the 3 emails",
    )
    assert Notification.objects.count() == 3
    assert set(Reminder.objects.values_list("stage", flat=True)) == {"d7"}


class SlowRobot(RobotServer):
    """Answers after `delay` seconds; counts a message as delivered only if the sender is still there to hear."""

    def __init__(self, delay: float):
        super().__init__()
        self.delay = delay
        self.acked: list[str] = []
        self.in_flight = threading.Event()
        robot = self
        handler = self.httpd.RequestHandlerClass

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            robot.received.append({"path": self.path})
            robot.in_flight.set()
            time.sleep(robot.delay)
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                return  # the sender died while waiting: nothing was delivered
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"errcode":0,"errmsg":"ok"}')
            robot.acked.append(self.path)

        handler.do_POST = do_POST


def test_a_worker_killed_in_the_middle_of_a_batch_ends_with_every_reminder_delivered_once(celery_worker):
    from reports.jobs import reminders_sweep

    with SlowRobot(delay=1.5) as robot:
        units = small_ledger(4, webhook=robot.url)
        reminders_sweep.delay(SWEEP_AT)
        # The worker sends one webhook at a time; kill it while it waits for the second answer.
        wait_for(lambda: len(robot.acked) >= 1, message="the first webhook to be delivered")
        robot.in_flight.clear()
        assert robot.in_flight.wait(10), "the worker did not start the next webhook"
        celery_worker.kill()
        sent_before = Delivery.objects.filter(channel="webhook", status="sent").count()
        assert sent_before < 4, "the batch finished before the worker was killed"

        # Redis hands unacknowledged jobs out again once they are older than the visibility timeout, at the
        # worker's start-up scan (the periodic scan runs only every ~100 s): start after the timeout has passed.
        time.sleep(celery_worker.visibility_timeout + 1)
        celery_worker.start()
        wait_for(
            lambda: Delivery.objects.filter(channel="webhook", status="sent").count() == 4,
            timeout=90,
            message="every webhook delivery to be sent after the restart",
        )
        time.sleep(2)  # anything still queued would arrive now
        acked = sorted(robot.acked)
        received = len(robot.received)

    assert received >= 5  # the webhook in flight when the worker died was tried again
    assert acked == sorted(f"/robot/{i}" for i in range(4))  # each delivered exactly once
    assert Reminder.objects.count() == 4
    assert Reminder.objects.filter(dispatched_at__isnull=True).count() == 0
    assert Notification.objects.count() == 4
    for unit in units:
        assert Notification.objects.filter(reminder__unit=unit).count() == 1
    assert Delivery.objects.exclude(status="sent").count() == 0
