"""Errors answer with Chinese pages (never Django's English debug pages), and the pages with their own stylesheet
(admin console, API docs) load the bundled Chinese font."""

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_an_unknown_address_answers_a_chinese_404_without_the_url_list(client_as, reporter, client):
    for c in (client_as(reporter), client):
        r = c.get("/no/such/page/")
        html = r.content.decode()
        assert r.status_code == 404 and "未找到页面" in html and "/no/such/page/" in html
        assert "Page not found" not in html and "URLconf" not in html


def test_a_forbidden_page_answers_a_chinese_403(client_as, leader):
    r = client_as(leader).get("/reports/my/")
    assert (
        r.status_code == 403
        and "无权操作" in r.content.decode()
        and "本页面供单位填报员" in r.content.decode()
    )


@override_settings(ROOT_URLCONF="tests.security.test_api_errors_and_hardening")
def test_a_server_error_answers_the_chinese_500_page(secretariat):
    c = Client(raise_request_exception=False)
    c.force_login(secretariat)
    r = c.get("/boom/")
    html = r.content.decode()
    assert r.status_code == 500 and 'data-testid="error-500"' in html and "服务器内部错误" in html
    assert "Traceback" not in html


def test_the_admin_console_loads_the_bundled_font(client_as, admin_user):
    html = client_as(admin_user).get("/admin/").content.decode()
    assert "vendor/fonts/noto-sans-sc/fonts.css" in html and "css/cjk-font.css" in html


def test_the_api_docs_load_the_bundled_font(client_as, reporter):
    html = client_as(reporter).get("/api/docs/").content.decode()
    assert "vendor/fonts/noto-sans-sc/fonts.css" in html and "css/cjk-font.css" in html
