"""What the settings promise and no code would notice missing."""

import pytest
from django.conf import settings


def test_openpyxl_parses_workbooks_with_defusedxml():
    """defusedxml is in the dependencies for openpyxl alone: it switches to it when installed."""
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML


def test_every_page_is_chinese_whatever_the_browser_asks(client, db):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    assert "登录" in response.content.decode()
    assert "django.middleware.locale.LocaleMiddleware" not in settings.MIDDLEWARE


def test_the_deployment_check_is_clean_with_the_production_settings(tmp_path):
    """What .ci/run checks, so a warning shows up in the tests too (a new view, setting or schema problem)."""
    import os
    import subprocess
    import sys

    # Browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process (Playwright's sync API); a server never has it.
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "reform_ledger.settings.production",
        "SECRET_KEY": "test-check-deploy-" + "x" * 50,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
        "ALLOWED_HOSTS": "ledger.example.gov.cn",
        "CSRF_TRUSTED_ORIGINS": "https://ledger.example.gov.cn",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_postgresql_connections_tell_the_planner_the_ledger_is_in_memory(monkeypatch):
    from reform_ledger.settings.base import planner_settings

    pg = "django.db.backends.postgresql"
    db = planner_settings({"ENGINE": pg, "OPTIONS": {"options": "-c work_mem=8MB"}})
    assert db["OPTIONS"]["options"] == "-c work_mem=8MB -c random_page_cost=1.1"
    assert "OPTIONS" not in planner_settings({"ENGINE": "django.db.backends.sqlite3"})
    monkeypatch.setenv("DATABASE_RANDOM_PAGE_COST", "")  # the server's own value
    assert "OPTIONS" not in planner_settings({"ENGINE": pg})


@pytest.mark.django_db
def test_the_test_database_connection_uses_the_planner_setting():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert float(cursor.fetchone()[0]) == 1.1
