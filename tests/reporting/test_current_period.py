"""One rule for "the current period" (reports.periods), and every page and endpoint that needs it agrees.

With no period open and the next quarter already created, the current period is the latest that has started,
not the future one: the reporter's form, the 汇总表, the roll-ups, 催报 and the API all pick it."""

import datetime as dt

import pytest
import time_machine

from reports.models import Period
from reports.periods import period_current, period_resolve
from tests.factories import PeriodFactory, TaskFactory

TODAY = dt.date(2024, 9, 10)  # 2024 Q3


@pytest.fixture(autouse=True)
def in_september_2024():
    with time_machine.travel(
        dt.datetime(2024, 9, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False
    ):
        yield


@pytest.fixture
def closed_quarters(db):
    q2 = PeriodFactory(year=2024, quarter=2, is_open=False)
    q3 = PeriodFactory(year=2024, quarter=3, is_open=False)
    q4 = PeriodFactory(year=2024, quarter=4, is_open=False)  # created ahead of time
    return q2, q3, q4


def test_the_open_period_is_current_even_if_a_later_one_exists(db):
    PeriodFactory(year=2024, quarter=3, is_open=False)
    q2 = PeriodFactory(year=2024, quarter=2, is_open=True)
    assert period_current(today=TODAY) == q2


def test_with_none_open_the_latest_started_period_is_current_not_a_future_one(closed_quarters):
    q2, q3, q4 = closed_quarters
    assert period_current(today=TODAY) == q3
    assert period_current(today=TODAY, periods=list(Period.objects.all())) == q3
    assert period_resolve(value="", today=TODAY) == q3
    assert period_resolve(value=str(q4.pk), today=TODAY) == q4


def test_pages_and_api_agree_on_the_current_period(
    closed_quarters, client_as, api_as, reporter, secretariat, unit_a
):
    _q2, q3, _q4 = closed_quarters
    TaskFactory(lead=[unit_a])
    assert client_as(reporter).get("/reports/my/").context["period"] == q3
    assert client_as(secretariat).get("/reports/status/").context["period"] == q3
    assert client_as(secretariat).get("/reports/rollups/departments/").context["period"] == q3
    assert client_as(secretariat).get("/reminders/send/").context["values"]["period"] == str(q3.pk)
    res = api_as(reporter).post("/api/reports/", {"task": TaskFactory(lead=[unit_a]).pk}, format="json")
    assert res.status_code == 400 and res.json()["field"] == "period"  # the current period is not open


def test_an_unknown_period_in_the_address_falls_back_to_the_current_one_on_reporting_pages(
    closed_quarters, client_as, secretariat
):
    assert (
        client_as(secretariat).get("/reports/status/?period=999999").context["period"] == closed_quarters[1]
    )
