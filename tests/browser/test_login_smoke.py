"""First browser journey: the secretariat signs in through the real form and lands on a page."""

import pytest

from departments.models import Role, UnitKind
from tests.browser.helpers import login
from tests.factories import UnitFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Ledger#2026"


def test_secretariat_signs_in_and_lands_on_a_page_without_console_errors(browser_page, live_url):
    unit = UnitFactory(name="市医改办", kind=UnitKind.SECRETARIAT)
    UserFactory(username="yigaiban", role=Role.SECRETARIAT, unit=unit, password=PASSWORD)

    login(browser_page, live_url, "yigaiban", PASSWORD)

    assert "/login/" not in browser_page.url
    assert browser_page.locator("body").inner_text().strip() != ""
    assert "yigaiban" in browser_page.content() or "退出" in browser_page.content()
    assert browser_page.console_errors == []


def test_wrong_password_keeps_the_user_on_the_login_page_with_a_message(browser_page, live_url):
    UserFactory(username="yigaiban", role=Role.SECRETARIAT)
    browser_page.goto(f"{live_url}/login/")
    browser_page.fill("input[name=username]", "yigaiban")
    browser_page.fill("input[name=password]", "wrong-password")
    browser_page.click("button[type=submit]")
    browser_page.wait_for_load_state()
    assert "/login/" in browser_page.url
    assert browser_page.locator("[role=alert]").is_visible()
    assert browser_page.console_errors == []
