"""Shared fixtures: one user per role, plus an outsider reporter from another unit."""

import pytest

from departments.models import Role, UnitKind
from tests.factories import UnitFactory, UserFactory


@pytest.fixture(autouse=True)
def _empty_process_cache():
    """Roll-ups kept in Django's cache or in this process are keyed by revision sums, which start again in every
    test database: no test may read another's."""
    from django.core.cache import cache

    from reports.dashboard import _HELD
    from reports.rollups import process_caches_clear

    cache.clear()
    process_caches_clear()
    _HELD.clear()
    yield
    cache.clear()
    process_caches_clear()
    _HELD.clear()


@pytest.fixture
def unit_a(db):
    return UnitFactory(name="市医疗保障局", short_name="市医保局")


@pytest.fixture
def unit_b(db):
    return UnitFactory(name="市财政局")


@pytest.fixture
def county(db):
    return UnitFactory(name="叶县政府", short_name="叶县", kind=UnitKind.COUNTY)


@pytest.fixture
def secretariat_unit(db):
    return UnitFactory(name="市医改办", kind=UnitKind.SECRETARIAT)


@pytest.fixture
def secretariat(db, secretariat_unit):
    return UserFactory(username="sec", role=Role.SECRETARIAT, unit=secretariat_unit)


@pytest.fixture
def reporter(db, unit_a):
    return UserFactory(username="rep_a", role=Role.REPORTER, unit=unit_a)


@pytest.fixture
def outsider(db, unit_b):
    """A reporter of another unit: must never see unit A's rows."""
    return UserFactory(username="rep_b", role=Role.REPORTER, unit=unit_b)


@pytest.fixture
def county_reporter(db, county):
    return UserFactory(username="rep_county", role=Role.REPORTER, unit=county)


@pytest.fixture
def leader(db):
    return UserFactory(username="leader", role=Role.LEADER)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin1", role=Role.ADMIN, is_staff=True)


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor1", role=Role.AUDITOR)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


def _client_for(user):
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def client_as():
    """client_as(user) -> a logged-in django.test.Client."""
    return _client_for


@pytest.fixture
def api_as():
    """api_as(user) -> an APIClient authenticated as that user."""
    from rest_framework.test import APIClient

    def make(user):
        c = APIClient()
        c.force_authenticate(user)
        return c

    return make


# ---------------------------------------------------------------------------------------------------------
# Real services (PostgreSQL, Redis, a Celery worker, headless Chromium). `make test` starts them and sets
# DATABASE_URL / REDIS_URL / CELERY_BROKER_URL; without them these fixtures skip the test cleanly.
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def live_url(live_server):
    """Base URL (no trailing slash) of a real HTTP server running the app; data the test commits is visible."""
    return live_server.url


@pytest.fixture(scope="session")
def _chromium():
    """One headless Debian chromium for the whole session (Playwright never downloads a browser)."""
    import os

    from tests.browser.helpers import CHROMIUM_ARGS, chromium_path

    path = chromium_path()
    if path is None:
        pytest.skip("chromium 未安装（/usr/bin/chromium）：跳过浏览器测试")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright 未安装：跳过浏览器测试")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself are still
    # plain synchronous code, so Django's async-safety guard is switched off for browser sessions.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001
        pw.stop()
        pytest.skip(f"chromium 无法启动：{exc}")
    yield browser
    browser.close()
    pw.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_page(_chromium, live_server):
    """A Playwright Page in a fresh browser context (own cookies), zh-CN, Asia/Shanghai.

    `page.console_errors` collects console errors and uncaught page errors (CSP violations included), so a
    journey can end with `assert page.console_errors == []`.
    """
    context = _chromium.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.console_errors = []
    page.on(
        "console",
        lambda msg: (
            page.console_errors.append(f"{msg.text} ({msg.location.get('url', '')})")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    yield page
    context.close()


@pytest.fixture(scope="session")
def redis_url():
    """URL of a running Redis (env REDIS_URL); skips the test when there is none."""
    import os

    from tests.integration.services import redis_reachable

    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL 未设置：跳过需要 Redis 的测试（make test 会启动 Redis）")
    if not redis_reachable(url):
        pytest.skip(f"Redis 无法连接：{url}")
    return url


@pytest.fixture
def celery_broker_url(redis_url):
    """The Redis database Celery uses in worker tests: CELERY_BROKER_URL if it is Redis, else REDIS_URL."""
    import os

    url = os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith("redis") else redis_url


@pytest.fixture
def celery_through_redis(celery_broker_url):
    """Jobs queued in this test go through Redis for real (not eager); the broker's queue starts empty."""
    import redis

    from reform_ledger.celery import app

    redis.Redis.from_url(celery_broker_url).flushdb()

    def reset_pools():
        from kombu import pools

        pools.reset()  # forget connections to the previous broker
        app._pool = None
        app.amqp._producer_pool = None

    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url", "broker_transport_options")}
    app.conf.update(task_always_eager=False, broker_url=celery_broker_url, broker_transport_options={})
    reset_pools()
    yield app
    app.conf.update(saved)
    reset_pools()


@pytest.fixture
def celery_worker(transactional_db, celery_through_redis, celery_broker_url, tmp_path):
    """A real `celery worker` process on Redis, using the test database (PostgreSQL only).

    Yields a tests.integration.services.CeleryWorker: .stop() (warm), .kill() (SIGKILL, job in hand stays
    unacknowledged and is handed out again after 5 s), .start(), .restart(), .log().
    """
    from django.db import connection

    from tests.integration.services import CeleryWorker, database_url_for

    if connection.vendor != "postgresql":
        pytest.skip("真实 Celery worker 需要 PostgreSQL 测试库（设置 DATABASE_URL，make test 会自动设置）")
    worker = CeleryWorker(
        broker_url=celery_broker_url,
        database_url=database_url_for(connection.settings_dict),
        log_dir=tmp_path,
    )
    worker.start()
    yield worker
    worker.kill()
    # The worker's connections must be gone before pytest-django flushes or drops the test database.
    connection.close()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, plus: at the end, connections left open by threads, live servers or
    worker processes are cut, so PostgreSQL can drop the test database instead of refusing ("being accessed
    by other users")."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connection.close()
