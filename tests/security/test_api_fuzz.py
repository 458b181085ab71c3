"""API fuzz run with schemathesis against /api/schema/: as the secretariat and as a reporter, generated
requests to every operation never answer 5xx, and every answer matches the schema (body and content type).

Marked integration (a few minutes); `pytest -m integration tests/security/test_api_fuzz.py` runs it in CI.
"""

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance  # noqa: E402

from tests.security.role_matrix_world import build_world  # noqa: E402


def _load_schema():
    from django.core.wsgi import get_wsgi_application

    # Loaded at collection: the schema view needs no database, and schemathesis' lazy fixture loader does
    # not work with pytest 9.
    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


schema = _load_schema()


@pytest.fixture
def tokens(db):
    from django.db import connection
    from rest_framework.authtoken.models import Token

    if connection.vendor != "postgresql":  # like the other integration tests: run with `make test` / in CI
        pytest.skip("API 模糊测试在集成环境（PostgreSQL，设置 DATABASE_URL）中运行")

    world = build_world()
    return {role: Token.objects.get_or_create(user=world.objects[role])[0].key for role in ("secretariat", "reporter_a")}


@pytest.mark.integration
@schema.parametrize()
@settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_5xx_or_an_answer_outside_the_schema(case, tokens):
    for token in tokens.values():  # every generated request, as the secretariat and as a reporter
        case.call_and_validate(
            headers={"Authorization": f"Token {token}"},
            checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
        )
