"""三员分立 and API tokens: an administrator's password reset is plain in the audit log and forces a change;
tokens end like sessions and are revoked on logout, password change and disable."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from departments.models import ApiToken, AuditEntry
from departments.tokens import token_issue
from reports.models import Notification

PASSWORD = "Passw0rd!x"
NEW_PASSWORD = "Neu-Kennwort#2026"


def _refused(response, why: str) -> bool:
    """Refused as unauthenticated (401, or 403 since session authentication comes first), saying why."""
    return response.status_code in (401, 403) and why in response.json()["detail"]


def _token(api_client, username, password=PASSWORD, **extra):
    return api_client.post(
        "/api/auth/token/", {"username": username, "password": password, **extra}, format="json"
    )


@pytest.mark.django_db
def test_an_administrators_password_reset_is_audited_and_forces_the_owner_to_change_it(
    client_as, admin_user, secretariat, api_client, django_capture_on_commit_callbacks, mailoutbox
):
    secretariat.email = "sec@example.org"
    secretariat.save(update_fields=["email"])
    _, old_key = token_issue(user=secretariat)
    admin = client_as(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        r = admin.post(
            f"/admin/departments/user/{secretariat.pk}/password/",
            {"password1": "Admin-Set#2026pw", "password2": "Admin-Set#2026pw", "usable_password": "true"},
            REMOTE_ADDR="10.9.8.7",
        )
    assert r.status_code == 302, r.content.decode()[:2000]
    entry = AuditEntry.objects.get(action="password_reset")
    assert entry.actor == admin_user and entry.object_id == str(secretariat.pk) and entry.ip == "10.9.8.7"
    assert "重置密码" in entry.message and "admin1" in entry.message
    secretariat.refresh_from_db()
    assert secretariat.must_change_password
    # the owner is told, in the inbox
    assert Notification.objects.filter(user=secretariat, kind="security", message__contains="重置").exists()
    assert (
        len(mailoutbox) == 1 and mailoutbox[0].to == ["sec@example.org"] and "重置" in mailoutbox[0].subject
    )
    # the tokens the owner had stop working
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old_key}")
    assert _refused(api_client.get("/api/tasks/"), "吊销")

    # Whoever signs in with the reset password sees nothing but the change form, and the log says so.
    browser = Client()
    r = browser.post("/login/", {"username": "sec", "password": "Admin-Set#2026pw"}, REMOTE_ADDR="10.9.8.7")
    assert r.status_code == 302
    login = AuditEntry.objects.filter(action="login", actor=secretariat).latest("id")
    assert "admin1" in login.message and "须先修改密码" in login.message
    r = browser.get("/tasks/")
    assert r.status_code == 302 and r["Location"] == "/password/"
    assert browser.get("/api/tasks/").status_code == 403
    r2 = _token(api_client, "sec", "Admin-Set#2026pw")
    assert r2.status_code == 403 and "修改密码" in r2.json()["detail"]

    r = browser.post(
        "/password/",
        {"old_password": "Admin-Set#2026pw", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert r.status_code == 302
    secretariat.refresh_from_db()
    assert not secretariat.must_change_password
    assert AuditEntry.objects.filter(action="password_change", actor=secretariat).exists()
    assert browser.get("/tasks/").status_code == 200


@pytest.mark.django_db
def test_a_wrong_new_password_is_refused_with_a_chinese_message_and_the_flag_stays(client_as, reporter):
    reporter.must_change_password = True
    reporter.save(update_fields=["must_change_password"])
    c = client_as(reporter)
    r = c.post("/password/", {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"})
    assert r.status_code == 200
    body = r.content.decode()
    assert "密码" in body and "errors" in body
    reporter.refresh_from_db()
    assert reporter.must_change_password


@pytest.mark.django_db
def test_every_sign_in_gets_its_own_token_and_the_owner_can_list_and_revoke_them(api_client, reporter):
    first = _token(api_client, "rep_a", name="数据对接").json()["token"]
    second = _token(api_client, "rep_a").json()["token"]
    assert first != second
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    listed = api_client.get("/api/auth/tokens/").json()["results"]
    assert {t["name"] for t in listed} == {"数据对接", ""} and sum(t["current"] for t in listed) == 1
    other = next(t for t in listed if not t["current"])
    assert api_client.delete(f"/api/auth/tokens/{other['id']}/").status_code == 204
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert _refused(api_client.get("/api/tasks/"), "吊销")
    assert not ApiToken.objects.filter(digest__in=[first, second]).exists()  # only digests are stored


@pytest.mark.django_db
def test_a_token_cannot_revoke_someone_elses_token(api_client, reporter, outsider):
    theirs, _ = token_issue(user=outsider)
    _, mine = token_issue(user=reporter)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {mine}")
    assert api_client.delete(f"/api/auth/tokens/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


@pytest.mark.django_db
def test_logout_revokes_the_token_it_was_made_with(api_client, reporter):
    key = _token(api_client, "rep_a").json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.post("/api/auth/logout/").status_code == 204
    assert _refused(api_client.get("/api/tasks/"), "吊销")


@pytest.mark.django_db
def test_tokens_end_after_the_idle_and_the_absolute_limit(api_client, reporter, settings):
    settings.API_TOKEN_IDLE_TIMEOUT = 1800
    settings.API_TOKEN_ABSOLUTE_TIMEOUT = 12 * 3600
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _, key = token_issue(user=reporter)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    # used every 25 minutes it stays alive ...
    for step in range(1, 5):
        with time_machine.travel(start + dt.timedelta(minutes=25 * step), tick=False):
            assert api_client.get("/api/units/").status_code == 200
    # ... 31 idle minutes end it
    with time_machine.travel(start + dt.timedelta(minutes=100 + 31), tick=False):
        assert _refused(api_client.get("/api/units/"), "未使用")
    # and however busy, not past 12 hours
    with time_machine.travel(start, tick=False):
        _, key2 = token_issue(user=reporter)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key2}")
    for step in range(1, 36):  # every 20 minutes for 11 h 40 min
        with time_machine.travel(start + dt.timedelta(minutes=20 * step), tick=False):
            assert api_client.get("/api/units/").status_code == 200
    with time_machine.travel(start + dt.timedelta(hours=12, minutes=1), tick=False):
        assert _refused(api_client.get("/api/units/"), "最长有效期")


@pytest.mark.django_db
def test_changing_the_password_or_disabling_the_account_revokes_its_tokens(api_client, reporter):
    _, key = token_issue(user=reporter)
    reporter.set_password(NEW_PASSWORD)
    reporter.save()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert _refused(api_client.get("/api/units/"), "吊销")
    _, key = token_issue(user=reporter)
    reporter.is_active = False
    reporter.save()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert _refused(api_client.get("/api/units/"), "吊销")
    assert AuditEntry.objects.filter(action="account_disable", object_id=str(reporter.pk)).exists()


@pytest.mark.django_db
def test_an_account_made_by_the_administrator_must_choose_its_own_password(client_as, admin_user, unit_a):
    admin = client_as(admin_user)
    r = admin.post(
        "/admin/departments/user/add/",
        {
            "username": "new_rep",
            "usable_password": "true",
            "password1": "Initial#Pw2026",
            "password2": "Initial#Pw2026",
            "role": "reporter",
            "unit": unit_a.pk,
            "display_name": "新填报员",
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    from departments.models import User

    assert User.objects.get(username="new_rep").must_change_password
    assert AuditEntry.objects.filter(action="password_set_initial", actor=admin_user).exists()
