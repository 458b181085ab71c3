"""What the settings promise and no code would notice missing."""

from django.conf import settings


def test_openpyxl_parses_workbooks_with_defusedxml():
    """defusedxml is in the dependencies for openpyxl alone: it switches to it when installed."""
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML


def test_every_page_is_chinese_whatever_the_browser_asks(client, db):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    assert "登录" in response.content.decode()
    assert "django.middleware.locale.LocaleMiddleware" not in settings.MIDDLEWARE
