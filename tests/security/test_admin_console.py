"""The administrator manages accounts and units in the console, and nothing else; unit deletion is soft."""

import pytest
from django.urls import NoReverseMatch, reverse

from departments.models import AuditEntry, Role, Unit
from tests.factories import DocumentFactory, ReportFactory, TaskFactory


def test_administrator_sees_only_accounts_and_units(client_as, admin_user):
    page = client_as(admin_user).get(reverse("admin:index")).content.decode()
    assert "/admin/departments/user/" in page and "/admin/departments/unit/" in page
    assert "/admin/tasks/" not in page and "auditentry" not in page and "/admin/reports/" not in page


def test_administrator_cannot_change_documents_or_read_audit_records(client_as, admin_user):
    doc = DocumentFactory()
    c = client_as(admin_user)
    assert c.get(reverse("admin:tasks_document_change", args=[doc.pk])).status_code in (302, 403)
    assert c.post(reverse("admin:tasks_document_change", args=[doc.pk]), {"title": "改"}).status_code in (
        302,
        403,
    )
    with pytest.raises(NoReverseMatch):
        reverse("admin:departments_auditentry_changelist")
    doc.refresh_from_db()
    assert doc.title != "改"


@pytest.mark.parametrize("who", ["secretariat", "leader", "reporter"])
def test_other_roles_cannot_use_the_console(request, client_as, who):
    user = request.getfixturevalue(who)
    response = client_as(user).get(reverse("admin:departments_user_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_auditor_is_refused_the_console(client_as, auditor):
    assert client_as(auditor).get(reverse("admin:departments_user_changelist")).status_code == 403


def test_an_auditor_marked_staff_still_cannot_administer(client_as, auditor):
    # The constraint forbids saving it; even an in-memory flag must not open the console.
    from departments.permissions import is_system_admin

    auditor.is_staff = True
    assert not is_system_admin(auditor)


def test_console_refuses_to_turn_an_administrator_into_an_auditor(client_as, admin_user, db):
    from tests.factories import UserFactory

    other = UserFactory(username="admin2", role=Role.ADMIN, is_staff=True)
    response = client_as(admin_user).post(
        reverse("admin:departments_user_change", args=[other.pk]),
        {
            "username": "admin2",
            "role": "auditor",
            "is_active": "on",
            "display_name": "",
            "email": "",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 200 and "三员分立" in response.content.decode()
    other.refresh_from_db()
    assert other.role == Role.ADMIN


def test_changing_an_account_in_the_console_is_audited(client_as, admin_user, reporter):
    response = client_as(admin_user).post(
        reverse("admin:departments_user_change", args=[reporter.pk]),
        {
            "username": "rep_a",
            "role": "reporter",
            "unit": reporter.unit_id,
            "display_name": "张三",
            "email": "",
            "is_active": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    reporter.refresh_from_db()
    assert not reporter.is_active
    entry = AuditEntry.objects.get(action="user_update", object_id=str(reporter.pk))
    assert entry.actor == admin_user and entry.changes["is_active"] == ["True", "False"]


def test_deleting_a_unit_with_history_in_the_console_is_a_soft_delete_that_can_be_undone(
    client_as, admin_user, unit_a
):
    task = TaskFactory(lead=[unit_a])
    report = ReportFactory(task=task, unit=unit_a)
    c = client_as(admin_user)
    response = c.post(reverse("admin:departments_unit_delete", args=[unit_a.pk]), {"post": "yes"})
    assert response.status_code == 302
    unit_a.refresh_from_db()
    assert unit_a.deleted_at is not None and not unit_a.is_active
    assert AuditEntry.objects.filter(
        action="unit_delete", object_id=str(unit_a.pk), actor=admin_user
    ).exists()

    response = c.post(
        reverse("admin:departments_unit_changelist"),
        {"action": "restore_units", "_selected_action": [unit_a.pk]},
    )
    assert response.status_code == 302
    unit_a.refresh_from_db()
    assert unit_a.deleted_at is None and unit_a.is_active
    assert unit_a.reports.get() == report and task.task_units.filter(unit=unit_a).exists()
    assert Unit.objects.filter(pk=unit_a.pk).exists()


def test_bulk_delete_of_units_in_the_console_is_soft(client_as, admin_user, unit_a, unit_b):
    response = client_as(admin_user).post(
        reverse("admin:departments_unit_changelist"),
        {"action": "delete_selected", "_selected_action": [unit_a.pk, unit_b.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert Unit.objects.filter(pk__in=[unit_a.pk, unit_b.pk], deleted_at__isnull=False).count() == 2


def test_the_auditor_is_confined_to_the_audit_log_in_the_api_with_a_token_too(api_client, auditor):
    from departments.tokens import token_issue

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=auditor)[1]}")
    response = api_client.get("/api/tasks/")
    assert response.status_code == 403 and response.json()["detail"] == "安全审计员只能查看审计日志。"
