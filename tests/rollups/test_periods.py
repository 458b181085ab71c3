"""The default, chosen and previous period are the same whether read from the database or found among the
periods a page already read for its selector."""

import datetime as dt

import pytest

from departments.services import ApplicationError
from reports import rollups
from reports.models import Period
from tests.factories import PeriodFactory

TODAY = dt.date(2024, 9, 10)


def both(fn, **kwargs):
    periods = list(Period.objects.order_by("-year", "-quarter"))
    return fn(**kwargs), fn(**kwargs, periods=periods)


@pytest.mark.parametrize(
    "quarters, open_quarter, expected",
    [
        ([(2024, 1), (2024, 2), (2024, 3), (2024, 4)], (2024, 2), (2024, 2)),  # the open one
        ([(2024, 1), (2024, 2), (2024, 3), (2024, 4)], None, (2024, 3)),  # latest started
        ([(2025, 1), (2025, 2)], None, (2025, 2)),  # none started yet: the latest
        ([], None, None),
    ],
)
def test_default_period_is_the_same_from_the_database_and_from_the_list(db, quarters, open_quarter, expected):
    for year, quarter in quarters:
        PeriodFactory(year=year, quarter=quarter, is_open=(year, quarter) == open_quarter)
    from_db, from_list = both(rollups.period_default, today=TODAY)
    assert from_db == from_list
    assert (from_db.year, from_db.quarter) == expected if expected else from_db is None


def test_chosen_and_previous_period_are_the_same_from_the_database_and_from_the_list(db):
    q1, q2 = PeriodFactory(year=2024, quarter=1), PeriodFactory(year=2024, quarter=2)
    q4 = PeriodFactory(year=2023, quarter=4)
    assert both(rollups.period_resolve, value=str(q2.pk), today=TODAY) == (q2, q2)
    assert both(rollups.period_previous, period=q1) == (q4, q4)
    assert both(rollups.period_previous, period=q4) == (None, None)
    for bad in ("abc", "99999"):
        with pytest.raises(ApplicationError) as from_db:
            rollups.period_resolve(value=bad, today=TODAY)
        with pytest.raises(ApplicationError) as from_list:
            rollups.period_resolve(value=bad, today=TODAY, periods=[q1, q2, q4])
        assert from_db.value.message == from_list.value.message


@pytest.mark.parametrize(
    "params",
    [
        {"unit": 12, "light": "overdue"},
        {"document": 3, "sort": "-deadline"},
        {"county": "叶县 政府&1", "status": "已完成", "light": None},
        {},
    ],
)
def test_roll_up_links_are_written_as_urlencode_writes_them(params):
    from urllib.parse import urlencode

    from django.urls import reverse

    from reports.views.tables import tasks_url

    assert tasks_url(**params) == f"{reverse('tasks:list')}?{urlencode(params)}"
