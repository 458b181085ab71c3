"""A second database connection per process, for work that can run beside the caller's.

After a task changed, the leaders' dashboard computes two independent parts again: the changed plans' lists and
counts, and the changed units' figures. Each spends about half its time waiting for PostgreSQL, so the units'
part runs on a thread with its own connection while the caller's thread computes the tasks' part
(reports.dashboard._dashboard_compute). The thread is the process's own (one per gunicorn or Celery worker
process, made on first use and again after a fork) and keeps its connection between uses as a request's is kept:
CONN_MAX_AGE, with the health check before each use.

Only on PostgreSQL with persistent connections (production's default), and only when the caller is in no
transaction: a second connection cannot see what an open transaction wrote (a service's atomic block, the test
suite's per-test transaction), and would open a connection per use without CONN_MAX_AGE. Otherwise the work runs
in the caller's thread, as it always did."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from django.db import close_old_connections, connection, connections

T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_lock = threading.Lock()


def side_connection_usable() -> bool:
    """Whether work may go to the side connection now (see the module's docstring)."""
    return (
        connection.vendor == "postgresql"
        and bool(connection.settings_dict.get("CONN_MAX_AGE"))
        and not connection.in_atomic_block
    )


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():  # a forked child holds the object but not its thread
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="side-db")
            _pool_pid = os.getpid()
        return _pool


def _run(fn: Callable[[], T]) -> T:
    close_old_connections()  # as at a request's start: a broken or expired connection is replaced
    return fn()


def on_side_connection(fn: Callable[[], T]) -> Future:
    """Start `fn()` on the side thread (its own connection, autocommit); the caller takes `.result()`, which
    raises what `fn` raised."""
    return _executor().submit(_run, fn)


def side_connection_wait() -> None:
    """Return when everything started on the side thread so far has finished."""
    if _pool is not None and _pool_pid == os.getpid():
        _pool.submit(lambda: None).result()


def side_connection_close() -> None:
    """Close the side thread's connection, if it has one (tests, before their database is dropped)."""
    if _pool is not None and _pool_pid == os.getpid():
        _pool.submit(connections.close_all).result()
