"""Database plumbing shared by every app: the request being served, and retrying a transaction that lost a
deadlock or a serialization race.

On the deadline-day rush many reporters write at once. Each report write bumps per-unit revision rows (the roll-up
and dashboard caches) inside the same transaction, so two transactions can meet each other's locks in opposite
order however carefully each statement orders its own rows. PostgreSQL then aborts one of them with
`deadlock detected` (40P01) or, for serializable conflicts, 40001. Neither has written anything: the whole
transaction is simply run again. SQLite answers `database is locked` when its busy timeout runs out; the same retry
covers that too.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import random
import time

from django.db import DatabaseError, OperationalError, connection, transaction

logger = logging.getLogger(__name__)

RETRYABLE_PGCODES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
MAX_ATTEMPTS = 5

# The request being served, so that an audit record written deep inside a service knows the source address
# without every service taking the request as an argument. Set by reform_ledger.middleware.RequestContextMiddleware.
current_request: contextvars.ContextVar = contextvars.ContextVar("current_request", default=None)


def _is_retryable(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    code = getattr(cause, "pgcode", None) or getattr(exc, "pgcode", None)
    if code in RETRYABLE_PGCODES:
        return True
    return connection.vendor == "sqlite" and "database is locked" in str(exc)


def retry_transaction(func=None, *, attempts: int = MAX_ATTEMPTS):
    """Run ``func`` in its own transaction; run it again (bounded, with jitter, logged) when the database aborted it
    for a deadlock or a serialization failure. Inside an outer transaction the outer one decides: no retry."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if connection.in_atomic_block:
                with transaction.atomic():  # a savepoint, as @transaction.atomic gives
                    return fn(*args, **kwargs)
            for attempt in range(1, attempts + 1):
                try:
                    with transaction.atomic():
                        return fn(*args, **kwargs)
                except (OperationalError, DatabaseError) as exc:
                    if attempt == attempts or not _is_retryable(exc):
                        raise
                    delay = min(0.05 * 2 ** (attempt - 1), 1.0) * (0.5 + random.random())
                    logger.warning(
                        "事务因死锁或并发冲突被数据库中止，第 %s 次重试 %s（%.0f 毫秒后）：%s",
                        attempt,
                        fn.__qualname__,
                        delay * 1000,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                    )
                    time.sleep(delay)
            raise AssertionError("unreachable")  # pragma: no cover

        return wrapper

    return decorate(func) if func is not None else decorate
