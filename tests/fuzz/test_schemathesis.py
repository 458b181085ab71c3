"""API fuzz run: schemathesis generates requests from /api/schema/ for every operation and checks that no
answer is a 5xx and every answer matches the schema. Run as a secretariat user and as a reporter (token).

Bounded for CI: FUZZ_EXAMPLES (default 8) examples per operation and role, no shrinking beyond a few seconds.
`FUZZ_EXAMPLES=100 pytest tests/fuzz` for a longer hunt.
"""

import datetime as dt
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import PeriodFactory, ReportFactory, TaskFactory

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, response_schema_conformance]
FUZZ_SETTINGS = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests on every CI run; a failure is reproducible
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture(autouse=True)
def keep_the_test_connection_open():
    """Requests go straight through the WSGI app, not Django's test client, so Django's request signals would
    close the database connection after each answer, inside the test's transaction. The test client
    disconnects them the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_ledger(db, unit_a, unit_b, county, secretariat, reporter):
    """A small ledger so ids in generated URLs sometimes exist: tasks, an open period, reports."""
    period = PeriodFactory(year=2024, quarter=3, due_date=dt.date(2024, 9, 20), is_open=True)
    t1 = TaskFactory(lead=[unit_a], responsible=[unit_b])
    t2 = TaskFactory(lead=[unit_b], counties=[county])
    ReportFactory(task=t1, unit=unit_a, period=period)
    ReportFactory(task=t2, unit=unit_b, period=period)
    return {"period": period}


def _token(user) -> dict:
    from departments.tokens import token_issue

    return {"Authorization": f"Token {token_issue(user=user)[1]}"}


def _load_schema():
    import json

    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    from reform_ledger.wsgi import application

    # /api/schema/ answers signed-in users only, and collection runs outside any test database: the schema is
    # generated the way that view generates it, and the calls go to the WSGI application.
    raw = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = application
    loaded.location = "/api/schema/"
    return loaded


schema = _load_schema()


@schema.parametrize()
@FUZZ_SETTINGS
def test_the_api_answers_a_secretariat_user_without_5xx_and_as_its_schema_says(
    case, fuzz_ledger, secretariat
):
    case.call_and_validate(headers=_token(secretariat), checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_the_api_answers_a_reporter_without_5xx_and_as_its_schema_says(case, fuzz_ledger, reporter):
    case.call_and_validate(headers=_token(reporter), checks=CHECKS)
