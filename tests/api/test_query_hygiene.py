"""Query strings the fuzz run threw at the API: each used to answer 500."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("param", ["document", "search", "lead_unit", "county"])
def test_a_nul_character_in_a_filter_answers_400_with_a_message(api_as, secretariat, param):
    response = api_as(secretariat).get("/api/tasks/", {param: "ab\x00c"})
    assert response.status_code == 400
    assert "空字符" in response.json()["detail"]


def test_a_nul_character_on_a_page_answers_400(client_as, secretariat):
    response = client_as(secretariat).get("/tasks/", {"search": "\x00"})
    assert response.status_code == 400
    assert "空字符" in response.content.decode()


@pytest.mark.parametrize("value", ["²", "٣", "9" * 30])
def test_an_id_that_is_not_a_plain_number_is_a_clear_filter_error_not_a_500(api_as, secretariat, value):
    response = api_as(secretariat).get("/api/tasks/", {"document": value})
    assert response.status_code == 400
    assert "文件" in response.json()["detail"]
