"""PostgreSQL restarted under a running app: the very next request works, no app restart needed.

A live gunicorn (one worker, so every request reuses the same persistent connection: CONN_MAX_AGE=600)
serves the app from a private PostgreSQL cluster that the test restarts. Without CONN_HEALTH_CHECKS the first
request after the restart would hit the dead connection and answer 500.
"""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

from .services import free_port, port_open

pytestmark = pytest.mark.integration


def _env(database_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="reform_ledger.settings.test",
        DATABASE_URL=database_url,
        CONN_MAX_AGE="600",
        CELERY_BROKER_URL="memory://",
        PYTHONUNBUFFERED="1",
    )
    return env


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def live_app(private_postgres, service_dir):
    """gunicorn on a free port against a migrated database in the private cluster; yields (base_url, token)."""
    env = _env(private_postgres.createdb("faults"))
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "add_user", "pg_sec", "--role", "secretariat", "--password", "Faults#2026x")
    token = _manage(
        env, "shell", "-c",
        "from departments.tokens import token_issue;from departments.models import User;"
        "print(token_issue(user=User.objects.get(username='pg_sec'))[1])",
    ).strip().splitlines()[-1]  # fmt: skip
    port = free_port()
    log = open(service_dir / "gunicorn.log", "wb")  # noqa: SIM115 - the child writes to it
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "reform_ledger.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "60"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    deadline = time.monotonic() + 60
    while not port_open(port):
        assert process.poll() is None and time.monotonic() < deadline, (
            service_dir / "gunicorn.log"
        ).read_text()
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", token, service_dir / "gunicorn.log"
    process.terminate()
    process.wait(20)


def test_after_a_postgresql_restart_the_next_request_succeeds_without_restarting_the_app(
    private_postgres, live_app
):
    base, token, log = live_app
    status, body = _get(f"{base}/api/units/", token)
    assert status == 200, body
    assert _get(f"{base}/healthz")[0] == 200

    private_postgres.restart()  # every connection the app holds is now dead

    status, body = _get(f"{base}/api/units/", token)
    assert status == 200, f"{status} {body[:300]!r}\n{log.read_text()[-3000:]}"
    assert _get(f"{base}/healthz")[0] == 200


def test_while_postgresql_is_down_the_app_answers_errors_and_recovers_when_it_is_back(
    private_postgres, live_app
):
    base, token, log = live_app
    assert _get(f"{base}/api/units/", token)[0] == 200

    private_postgres.stop()
    status, _ = _get(f"{base}/healthz")
    assert status == 500  # the load balancer sees the outage …

    private_postgres.start()
    status, body = _get(f"{base}/api/units/", token)  # … and the app serves again by itself
    assert status == 200, f"{status} {body[:300]!r}\n{log.read_text()[-3000:]}"
