"""Found by the API fuzz run (tests/fuzz): request bodies that are not JSON objects get a message, not a 500."""

import pytest


@pytest.mark.parametrize("body", [[None, None], "2024", 7])
def test_opening_a_period_with_a_body_that_is_not_an_object_is_refused_with_a_message(
    api_as, secretariat, body
):
    response = api_as(secretariat).post("/api/periods/", body, format="json")
    assert response.status_code == 400
    assert "JSON 对象" in response.json()["detail"]
