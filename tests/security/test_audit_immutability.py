"""Audit records are append-only; the auditor can never also be an administrator (三员分立)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from departments.models import AuditEntry, Role
from departments.services import audit_log
from tests.factories import UserFactory


def test_an_audit_entry_cannot_be_changed_or_deleted_through_the_model(db):
    entry = audit_log(action="task_update", object_type="task", object_id="1", message="原始")
    entry.message = "篡改"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).message == "原始"


def test_bulk_update_or_delete_of_audit_entries_is_refused(db):
    audit_log(action="task_update", message="原始")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().update(message="篡改")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.filter(message="原始").count() == 1


@pytest.mark.django_db
def test_postgresql_refuses_raw_sql_that_alters_or_deletes_audit_rows():
    if connection.vendor != "postgresql":
        pytest.skip("数据库触发器只在 PostgreSQL 上安装")
    entry = audit_log(action="task_update", message="原始")
    for sql in (
        "UPDATE departments_auditentry SET message = 'x' WHERE id = %s",
        "DELETE FROM departments_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).message == "原始"


def test_an_auditor_cannot_be_made_staff_or_superuser_by_form_validation(db):
    user = UserFactory(username="aud", role=Role.AUDITOR)
    user.is_staff = True
    with pytest.raises(ValidationError):
        user.full_clean()


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_the_database_refuses_an_auditor_who_is_also_an_administrator(db, flag):
    user = UserFactory(username="aud", role=Role.AUDITOR)
    setattr(user, flag, True)
    with pytest.raises(IntegrityError), transaction.atomic():
        user.save()
