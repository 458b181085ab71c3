"""Sign-in: lockout per account and per address, messages that reveal nothing, audit of every sign-in event,
password rules, session limits, session rotation and disabled accounts."""

import datetime as dt

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from departments.models import AuditEntry
from tests.factories import UserFactory

PASSWORD = "Passw0rd!x"  # tests.factories.UserFactory
LOGIN = "/login/"


def login(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("departments:login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_a_good_login_is_audited_with_the_address(client, reporter):
    response = login(client, "rep_a", PASSWORD, ip="10.9.8.7")
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="login")
    assert entry.actor == reporter and entry.ip == "10.9.8.7"


def test_a_failed_login_is_audited_and_says_nothing_about_the_account(client, reporter):
    wrong_password = login(client, "rep_a", "wrong-password").content.decode()
    no_such_user = login(client, "nobody", "wrong-password").content.decode()
    assert "用户名或密码错误" in wrong_password and "用户名或密码错误" in no_such_user
    assert AuditEntry.objects.filter(action="login_failed").count() == 2
    assert set(AuditEntry.objects.filter(action="login_failed").values_list("object_id", flat=True)) == {
        "rep_a",
        "nobody",
    }


def test_five_failures_lock_the_account_for_fifteen_minutes_even_with_the_right_password(
    client, reporter, time_machine
):
    time_machine.move_to(dt.datetime(2024, 5, 6, 9, 0, tzinfo=dt.UTC), tick=False)
    for i in range(5):
        login(client, "rep_a", "wrong-password", ip=f"10.0.0.{i + 1}")
    assert AuditEntry.objects.filter(action="login_locked", object_id="rep_a").count() == 1
    response = login(client, "rep_a", PASSWORD)
    assert response.status_code == 200 and "暂时锁定" in response.content.decode()
    assert AuditEntry.objects.filter(action="login_blocked").count() == 1
    time_machine.move_to(dt.datetime(2024, 5, 6, 9, 14, tzinfo=dt.UTC), tick=False)
    assert login(client, "rep_a", PASSWORD).status_code == 200
    time_machine.move_to(dt.datetime(2024, 5, 6, 9, 16, tzinfo=dt.UTC), tick=False)
    assert login(client, "rep_a", PASSWORD).status_code == 302


def test_an_unknown_account_locks_the_same_way_so_the_lock_reveals_nothing(client, db):
    for _ in range(5):
        login(client, "ghost", "wrong-password")
    assert "暂时锁定" in login(client, "ghost", "anything").content.decode()


def test_four_failures_then_a_success_do_not_lock(client, reporter):
    for _ in range(4):
        login(client, "rep_a", "wrong-password")
    assert login(client, "rep_a", PASSWORD).status_code == 302
    client.logout()
    login(client, "rep_a", "wrong-password")
    assert login(client, "rep_a", PASSWORD).status_code == 302


def test_failures_spread_beyond_fifteen_minutes_do_not_lock(client, reporter, time_machine):
    start = dt.datetime(2024, 5, 6, 9, 0, tzinfo=dt.UTC)
    for i in range(6):
        time_machine.move_to(start + dt.timedelta(minutes=4 * i), tick=False)
        login(client, "rep_a", "wrong-password")
    assert not AuditEntry.objects.filter(action="login_locked").exists()


def test_too_many_failures_from_one_address_lock_that_address(client, reporter, settings):
    settings.LOGIN_IP_MAX_FAILURES = 6
    for i in range(6):
        login(client, f"guess{i}", "wrong-password", ip="10.66.0.1")
    assert AuditEntry.objects.filter(action="login_ip_locked", ip="10.66.0.1").count() == 1
    assert "暂时锁定" in login(client, "rep_a", PASSWORD, ip="10.66.0.1").content.decode()
    assert login(client, "rep_a", PASSWORD, ip="10.66.0.2").status_code == 302


def test_api_token_endpoint_is_locked_too(api_client, reporter):
    url = reverse("api-token")
    for _ in range(5):
        response = api_client.post(url, {"username": "rep_a", "password": "nope"}, REMOTE_ADDR="10.0.0.5")
        assert response.status_code == 400 and response.json()["detail"] == "用户名或密码错误，或账号已停用。"
    response = api_client.post(url, {"username": "rep_a", "password": PASSWORD}, REMOTE_ADDR="10.0.0.5")
    assert response.status_code == 429 and "暂时锁定" in response.json()["detail"]
    assert AuditEntry.objects.filter(action="login_failed", object_id="rep_a").count() == 5


def test_api_token_success_is_audited(api_client, reporter):
    response = api_client.post(reverse("api-token"), {"username": "rep_a", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["token"]
    assert AuditEntry.objects.filter(action="login", actor=reporter).exists()


def test_logout_is_audited(client, reporter):
    login(client, "rep_a", PASSWORD)
    client.post(reverse("departments:logout"))
    assert AuditEntry.objects.filter(action="logout", actor=reporter).exists()


def test_session_id_changes_at_login(client, reporter):
    client.get(reverse("departments:login"))
    session = client.session
    session["x"] = 1
    session.save()
    client.cookies["sessionid"] = session.session_key
    before = session.session_key
    login(client, "rep_a", PASSWORD)
    assert client.cookies["sessionid"].value != before


def test_session_ends_after_thirty_minutes_idle(client, reporter, time_machine):
    start = dt.datetime(2024, 5, 6, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    login(client, "rep_a", PASSWORD)
    time_machine.move_to(start + dt.timedelta(minutes=29), tick=False)
    assert client.get("/api/units/").status_code == 200
    time_machine.move_to(start + dt.timedelta(minutes=58), tick=False)
    assert client.get("/api/units/").status_code == 200  # 29 minutes after the last request: still alive
    time_machine.move_to(start + dt.timedelta(minutes=89), tick=False)
    assert client.get("/api/units/").status_code == 403
    assert AuditEntry.objects.filter(action="session_idle", actor=reporter).exists()


def test_session_ends_after_twelve_hours_however_busy(client, reporter, time_machine):
    start = dt.datetime(2024, 5, 6, 0, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    login(client, "rep_a", PASSWORD)
    for minutes in range(20, 12 * 60, 20):
        time_machine.move_to(start + dt.timedelta(minutes=minutes), tick=False)
        assert client.get("/api/units/").status_code == 200
    time_machine.move_to(start + dt.timedelta(hours=12, minutes=1), tick=False)
    assert client.get("/api/units/").status_code == 403
    assert AuditEntry.objects.filter(action="session_expired", actor=reporter).exists()


def test_a_disabled_account_loses_its_session_at_once(client, reporter):
    login(client, "rep_a", PASSWORD)
    assert client.get("/api/units/").status_code == 200
    reporter.is_active = False
    reporter.save()
    assert client.get("/api/units/").status_code == 403
    reporter.is_active = True
    reporter.save()
    assert client.get("/api/units/").status_code == 403  # the session was ended, not merely suspended


def test_a_disabled_account_loses_its_api_token_at_once(api_client, reporter):
    token = api_client.post(reverse("api-token"), {"username": "rep_a", "password": PASSWORD}).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/units/").status_code == 200
    reporter.is_active = False
    reporter.save()
    assert api_client.get("/api/units/").status_code in (401, 403)


@pytest.mark.parametrize("password", ["Ledger#2026", "correct-Horse-9", "Zz9!zz9!zz"])
def test_strong_passwords_are_accepted(db, password):
    validate_password(password, user=UserFactory.build(username="someone"))


@pytest.mark.parametrize(
    "password, why",
    [
        ("Ab1!", "10 个字符"),
        ("abcdefghijk", "小写字母、大写字母、数字、符号中的 3 类"),
        ("abcdefgh12", "小写字母、大写字母、数字、符号中的 3 类"),
        ("Password123", "常见"),
    ],
)
def test_weak_passwords_are_refused_with_a_chinese_reason(db, password, why):
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as caught:
            validate_password(password, user=UserFactory.build(username="someone"))
        messages = [str(m) for m in caught.value.messages]
    assert any(why in m for m in messages), messages
