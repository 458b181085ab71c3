"""`make run`'s server: web + Celery worker/beat on the filesystem broker, no Redis, SQLite; Ctrl-C stops both."""

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.integration.services import wait_for

pytestmark = pytest.mark.integration
BASE_DIR = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except OSError:
        return None


def test_embedded_server_runs_jobs_queued_by_another_process_and_stops_with_ctrl_c(tmp_path):
    db_path = tmp_path / "db.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE_URL", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="reform_ledger.settings.local",
        DATABASE_URL=f"sqlite:///{db_path}",
        CELERY_FILESYSTEM_DIR=str(tmp_path / "broker"),
        PYTHONUNBUFFERED="1",
    )
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=BASE_DIR, check=True)

    port = _free_port()
    log = open(tmp_path / "run.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [*manage, "run_embedded", f"127.0.0.1:{port}"],
        env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        wait_for(lambda: _http_status(f"http://127.0.0.1:{port}/login/") == 200, timeout=90, message="web server")
        banner = (tmp_path / "run.log").read_text()
        assert f"http://127.0.0.1:{port}/" in banner
        worker_pid = int(re.search(r"Celery worker \+ beat：pid (\d+)", banner).group(1))
        assert _alive(worker_pid)

        token = f"fs-{uuid.uuid4()}"
        queued = subprocess.run(
            [*manage, "shell", "-c", f"from reform_ledger.celery import ping; print(ping.delay({token!r}).id)"],
            env=env, cwd=BASE_DIR, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert queued.stdout.strip()

        def recorded():
            with sqlite3.connect(db_path, timeout=5) as conn:
                return conn.execute(
                    "select object_id from departments_auditentry where action='system.ping' and message=?", (token,)
                ).fetchone()

        row = wait_for(recorded, timeout=60, message="the embedded worker to run the job")
        assert int(row[0]) != server.pid  # executed in the worker, not in the web process

        os.killpg(server.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
        assert server.wait(60) == 0
        wait_for(lambda: not _alive(worker_pid), timeout=30, message="the worker to stop")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        log.close()
        assert (tmp_path / "run.log").exists()
