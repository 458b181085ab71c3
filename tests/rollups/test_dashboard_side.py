"""The leaders' dashboard computes its units' part on a second connection (reform_ledger.side) when it may, and the
result is the same as computed on one connection: after a change of tasks, of a report, and from nothing."""

import threading

import pytest
from django.db import connection

from reform_ledger import side
from reports import dashboard as dash
from reports.models import DashboardCache, Period, Report, UnitFigures
from tasks.models import Task
from tests.rollups.conftest import TODAY
from tests.rollups.test_dashboard_cache import _data


@pytest.fixture
def side_on(monkeypatch):
    """Persistent connections, as in production: the condition for the side connection."""
    if connection.vendor != "postgresql":
        pytest.skip("第二个数据库连接只在 PostgreSQL 上使用（设置 DATABASE_URL）")
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    yield
    side.side_connection_close()  # the test database is dropped at the end: no connection may stay open


def _units_part_threads(monkeypatch) -> list[int]:
    threads = []
    real = dash._dashboard_units_part

    def recorded(**kwargs):
        threads.append(threading.get_ident())
        return real(**kwargs)

    monkeypatch.setattr(dash, "_dashboard_units_part", recorded)
    return threads


def _whole(ledger, user):
    DashboardCache.objects.all().delete()
    UnitFigures.objects.all().delete()
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(side, "side_connection_usable", lambda: False)
    monkeypatch.setattr(dash, "side_connection_usable", lambda: False)
    try:
        return _data(dash.dashboard_overdue(today=TODAY, user=user, period=ledger.q3))
    finally:
        monkeypatch.undo()


@pytest.mark.django_db(transaction=True)
def test_after_a_task_changed_the_units_part_runs_beside_and_equals_one_connections_result(
    ledger, leader_user, side_on, monkeypatch
):
    threads = _units_part_threads(monkeypatch)
    dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3)  # computed whole, then kept
    assert threads and threads[-1] != threading.get_ident()  # the units' part ran on the side thread
    Task.objects.filter(pk=ledger.t3.pk).update(status="completed")  # T3 was due soon: every part moves
    before = len(threads)
    after = _data(dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3))
    assert len(threads) == before + 1 and threads[-1] != threading.get_ident()
    whole = _whole(ledger, leader_user)
    assert after == whole


@pytest.mark.django_db(transaction=True)
def test_the_row_written_on_the_side_is_what_the_next_reader_gets_in_one_query(
    ledger, leader_user, side_on, django_assert_num_queries
):
    periods = list(Period.objects.all())  # as the page passes them: the previous period is not read again

    def read():
        return _data(dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3, periods=periods))

    first = read()
    side.side_connection_wait()  # the row is written on the side connection after the caller has its answer
    with django_assert_num_queries(1):
        assert read() == first
    Task.objects.filter(pk=ledger.t3.pk).update(status="completed")
    changed = read()
    side.side_connection_wait()
    with django_assert_num_queries(1):
        assert read() == changed
    assert changed == _whole(ledger, leader_user)


@pytest.mark.django_db(transaction=True)
def test_a_failed_write_back_is_logged_and_the_next_reader_computes_again(
    ledger, leader_user, side_on, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("写回失败")

    monkeypatch.setattr(dash, "_store_row", broken)
    first = _data(dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3))
    side.side_connection_wait()
    assert "看板缓存写回失败" in caplog.text
    assert not DashboardCache.objects.exists()
    monkeypatch.undo()
    assert first == _whole(ledger, leader_user)


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_everything_stays_on_the_callers_connection(
    ledger, leader_user, side_on, monkeypatch
):
    """A second connection would not see what the open transaction wrote: a task completed in it must count."""
    from django.db import transaction

    threads = _units_part_threads(monkeypatch)
    with transaction.atomic():
        Task.objects.filter(pk=ledger.t3.pk).update(status="completed")
        inside = _data(dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3))
    assert threads == [threading.get_ident()]
    assert inside == _whole(ledger, leader_user)


@pytest.mark.django_db(transaction=True)
def test_an_error_on_the_side_reaches_the_caller_and_nothing_is_kept(
    ledger, leader_user, side_on, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("单位统计失败")

    monkeypatch.setattr(dash, "_dashboard_units_part", broken)
    with pytest.raises(RuntimeError, match="单位统计失败"):
        dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3)
    assert not DashboardCache.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_report_still_recomputes_only_the_units_part(ledger, leader_user, side_on, monkeypatch):
    dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3)
    side.side_connection_wait()  # the row is written on the side connection after the caller has its answer
    computed = []
    monkeypatch.setattr(dash, "_tasks_part", lambda **kw: computed.append(kw) or {})
    Report.objects.filter(unit=ledger.b, task=ledger.t1, period=ledger.q3).update(is_late=True)
    after = _data(dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3))
    assert computed == []
    monkeypatch.undo()
    assert after == _whole(ledger, leader_user)


@pytest.mark.django_db(transaction=True)
def test_a_dashboard_read_again_is_not_sent_or_parsed_again_while_the_stored_row_is_the_one_held(
    ledger, leader_user, monkeypatch
):
    """This process holds the row it last read or wrote (`_HELD`): while the stored row has the same
    fingerprints the statement does not send its data again, and the answer is the same as computed afresh."""
    periods = list(Period.objects.all())
    parsed = []
    real_loads = dash.orjson.loads
    monkeypatch.setattr(dash.orjson, "loads", lambda text: parsed.append(len(text)) or real_loads(text))

    def read():
        return dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3, periods=periods)

    first = _data(read())  # computed and stored (inside the caller's own thread: no side connection here)
    second = read()  # read from the table and parsed once
    assert len(parsed) == 1 and _data(second) == first
    third = read()  # held: the statement sends no data, nothing is parsed, a copy of the same Dashboard
    assert len(parsed) == 1 and _data(third) == first and third is not second
    third.units = []  # what a caller does with its copy is not what the next reader gets
    assert _data(read()) == first
    Task.objects.filter(pk=ledger.t3.pk).update(status="completed")
    changed = _data(read())
    assert changed != first and changed == _whole(ledger, leader_user)


@pytest.mark.django_db(transaction=True)
def test_a_row_stored_by_another_process_is_read_even_when_this_one_holds_an_older_one(
    ledger, leader_user, monkeypatch
):
    periods = list(Period.objects.all())

    def read():
        return _data(dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3, periods=periods))

    read()
    read()  # now held
    Task.objects.filter(pk=ledger.t3.pk).update(status="completed")
    # another process computes and stores the new row; this one still holds the old
    held = dict(dash._HELD.rows)
    read()
    dash._HELD.rows.clear()
    dash._HELD.rows.update(held)
    assert read() == _whole(ledger, leader_user)


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_no_row_is_held(ledger, leader_user):
    from django.db import transaction

    with transaction.atomic():
        dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3)
        dash.dashboard_overdue(today=TODAY, user=leader_user, period=ledger.q3)
    assert not dash._HELD.rows
