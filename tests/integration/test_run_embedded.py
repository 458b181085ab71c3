"""`make run`'s server: web + Celery worker/beat on the filesystem broker, no Redis, SQLite; Ctrl-C stops both."""

import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.error
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


@contextlib.contextmanager
def embedded_server(tmp_path):
    """`manage.py run_embedded` on a fresh SQLite file in tmp_path; yields (port, env, manage, server, log path)."""
    db_path = tmp_path / "db.sqlite3"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CELERY_", "DATABASE_URL", "DJANGO_", "DEBUG"))
    }
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
        wait_for(
            lambda: _http_status(f"http://127.0.0.1:{port}/login/") == 200, timeout=90, message="web server"
        )
        yield port, env, manage, server, tmp_path / "run.log"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        log.close()


def test_embedded_server_runs_jobs_queued_by_another_process_and_stops_with_ctrl_c(tmp_path):
    db_path = tmp_path / "db.sqlite3"
    with embedded_server(tmp_path) as (port, env, manage, server, log_path):
        banner = log_path.read_text()
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
                    "select object_id from departments_auditentry where action='system.ping' and message=?",
                    (token,),
                ).fetchone()

        row = wait_for(recorded, timeout=60, message="the embedded worker to run the job")
        assert int(row[0]) != server.pid  # executed in the worker, not in the web process

        os.killpg(server.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
        assert server.wait(60) == 0
        wait_for(lambda: not _alive(worker_pid), timeout=30, message="the worker to stop")


SETUP_REPORTER = """
import datetime as dt
from departments.models import Role, Unit, UnitKind, User
from departments.tokens import token_issue
from reports.models import Period
from tasks.models import Document, Task, TaskUnit
unit = Unit.objects.create(name="市并发测试局", kind=UnitKind.DEPARTMENT)
doc = Document.objects.create(doc_number="并发〔2026〕1号", title="并发测试方案")
ids = []
for i in range(1, 21):
    t = Task.objects.create(document=doc, path=["一", str(i)], title=f"并发任务{i}")
    TaskUnit.objects.create(task=t, unit=unit, role="lead")
    ids.append(t.pk)
period = Period.objects.create(year=2026, quarter=4, due_date=dt.date(2099, 12, 20), is_open=True)
user = User.objects.create(username="rush", role=Role.REPORTER, unit=unit)
print(token_issue(user=user)[1], period.pk, *ids)
"""


def test_the_embedded_default_answers_20_parallel_report_writes_without_a_server_error(tmp_path):
    """SQLite in WAL mode with a busy timeout and IMMEDIATE write transactions: 20 reporters saving and
    submitting at the same moment all succeed (they got `database is locked` 500s before); DEBUG is off, so an
    unknown page is the Chinese 404, not Django's debug page."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    with embedded_server(tmp_path) as (port, env, manage, server, log_path):
        out = (
            subprocess.run(
                [*manage, "shell", "-c", SETUP_REPORTER],
                env=env,
                cwd=BASE_DIR,
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
            .split()
        )  # the shell may print a line of its own first
        token, period, task_ids = out[0], int(out[1]), [int(x) for x in out[2:]]
        base = f"http://127.0.0.1:{port}"

        def call(method, path, body=None):
            request = urllib.request.Request(
                base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=60) as r:
                    return r.status, json.loads(r.read() or b"{}")
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode("utf-8", "replace")[:300]

        def write(task_id):
            status, body = call(
                "POST", "/api/reports/", {"task": task_id, "period": period, "text": "本期进展"}
            )
            if status != 201:
                return status, body
            return call("POST", f"/api/reports/{body['id']}/submit/", {})

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(write, task_ids))
        assert [s for s, _ in results] == [200] * 20, results
        assert all(body["status"] == "submitted" for _, body in results)

        with urllib.request.urlopen(base + "/login/") as r:
            assert r.status == 200
        try:
            urllib.request.urlopen(base + "/no-such-page/")
        except urllib.error.HTTPError as e:
            page = e.read().decode()
            assert e.code == 404 and "Django" not in page and "URLconf" not in page
