"""Helpers behind the service fixtures in tests/conftest.py: a real Celery worker process, Redis checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


def redis_reachable(url: str, timeout: float = 1.0) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - any failure means "not reachable": the fixture skips
        return False


def database_url_for(db_settings: dict) -> str:
    """A DATABASE_URL naming exactly the database this test process is connected to (the test database)."""
    user = db_settings.get("USER") or ""
    password = db_settings.get("PASSWORD") or ""
    host = db_settings.get("HOST") or ""
    port = db_settings.get("PORT") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    if host.startswith("/"):  # unix socket directory
        from urllib.parse import quote

        return (
            f"postgres://{auth}{quote(host, safe='')}{':' + str(port) if port else ''}/{db_settings['NAME']}"
        )
    return f"postgres://{auth}{host}{':' + str(port) if port else ''}/{db_settings['NAME']}"


class CeleryWorker:
    """A real `celery -A reform_ledger worker` subprocess; tests may stop(), kill() and start() it again."""

    def __init__(self, *, broker_url: str, database_url: str, log_dir: Path, visibility_timeout: int = 5):
        self.broker_url = broker_url
        self.database_url = database_url
        self.log_dir = Path(log_dir)
        self.visibility_timeout = visibility_timeout
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"celery-worker-{self.starts}.log"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="reform_ledger.settings.test",
            DATABASE_URL=self.database_url,
            CELERY_BROKER_URL=self.broker_url,
            CELERY_TASK_ALWAYS_EAGER="0",
            CELERY_VISIBILITY_TIMEOUT=str(self.visibility_timeout),
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self, timeout: float = 60) -> CeleryWorker:
        if self.running:
            return self
        self.starts += 1
        log = open(self.log_path, "wb")  # noqa: SIM115 - the child keeps writing to it
        cmd = [
            sys.executable, "-m", "celery", "-A", "reform_ledger", "worker",
            "--loglevel=INFO", "--pool=prefork", "--concurrency=1",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            f"--hostname=test-worker-{os.getpid()}-{self.starts}@%h",
        ]  # fmt: skip
        # Its own process group, so kill() takes the pool children down with it, like a machine losing power.
        self.process = subprocess.Popen(
            cmd, cwd=BASE_DIR, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Celery worker exited with {self.process.returncode}:\n{self.log()}")
            if " ready." in self.log():
                return self
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"Celery worker not ready after {timeout}s:\n{self.log()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 30) -> int | None:
        """Warm shutdown (SIGTERM): the job in hand is finished first."""
        if not self.running:
            return self.process.returncode if self.process else None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self) -> int | None:
        """SIGKILL to the whole process group: the job in hand is lost and stays unacknowledged in Redis."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return self.process.wait(10)

    def restart(self) -> CeleryWorker:
        self.stop()
        return self.start()


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.2, message: str = "condition"):
    """Polls `predicate` until it returns something truthy; fails the test with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)
