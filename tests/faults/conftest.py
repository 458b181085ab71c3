"""Fixtures for the fault tests: private Redis / PostgreSQL servers the test may stop and restart."""

import shutil
import tempfile
from pathlib import Path

import pytest

from .services import PrivatePostgres, PrivateRedis, pg_bindir


@pytest.fixture
def service_dir():
    """A fresh directory under /tmp (not pytest's root-only basetemp: PostgreSQL runs as another user)."""
    path = Path(tempfile.mkdtemp(prefix="reform-ledger-fault-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def private_redis(service_dir):
    if not PrivateRedis.available():
        pytest.skip("redis-server 未安装：跳过 Redis 故障测试")
    server = PrivateRedis(service_dir / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def private_postgres(service_dir):
    if pg_bindir() is None:
        pytest.skip("PostgreSQL 服务端未安装：跳过数据库重启测试")
    server = PrivatePostgres(service_dir / "pg").init()
    server.start()
    yield server
    server.stop(mode="immediate")
