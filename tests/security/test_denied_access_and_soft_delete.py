"""Denied access is audited; deleting a task is a soft delete that comes back with its reports and history."""

from django.urls import reverse

from departments.models import AuditEntry
from reports.models import Report
from tasks.models import Task
from tasks.services import task_delete, task_restore
from tests.factories import ReportFactory, TaskFactory


def test_asking_for_another_units_task_is_a_404_and_is_audited(client_as, outsider, unit_a):
    task = TaskFactory(lead=[unit_a])
    response = client_as(outsider).get(f"/api/tasks/{task.pk}/", REMOTE_ADDR="10.3.3.3")
    assert response.status_code == 404
    entry = AuditEntry.objects.get(action="access_denied")
    assert entry.actor == outsider and entry.ip == "10.3.3.3" and str(task.pk) == entry.object_id
    assert "404" in entry.message


def test_a_forbidden_action_is_a_403_and_is_audited(api_as, reporter, unit_a):
    task = TaskFactory(lead=[unit_a])
    response = api_as(reporter).patch(
        f"/api/tasks/{task.pk}/", {"title": "改", "version": task.version}, format="json"
    )
    assert response.status_code == 403
    entry = AuditEntry.objects.get(action="access_denied")
    assert entry.actor == reporter and "403" in entry.message and "PATCH" in entry.message


def test_an_ordinary_page_view_is_not_recorded_as_denied(client_as, secretariat):
    assert client_as(secretariat).get(reverse("tasks:list")).status_code == 200
    assert not AuditEntry.objects.filter(action="access_denied").exists()


def test_a_deleted_task_comes_back_with_its_reports_and_history(secretariat, unit_a):
    task = TaskFactory(lead=[unit_a])
    report = ReportFactory(task=task, unit=unit_a)
    task_delete(task=task, actor=secretariat)
    assert not Task.objects.alive().filter(pk=task.pk).exists()
    assert Report.objects.filter(pk=report.pk).exists()  # nothing is removed
    task_restore(task=task, actor=secretariat)
    assert Task.objects.alive().filter(pk=task.pk).exists()
    assert list(Task.objects.get(pk=task.pk).reports.all()) == [report]
    actions = list(
        AuditEntry.objects.filter(object_type="task", object_id=str(task.pk)).values_list("action", flat=True)
    )
    assert {"task_delete", "task_restore"} <= set(actions)


def test_rows_with_history_cannot_be_hard_deleted(unit_a):
    import pytest
    from django.db.models import ProtectedError

    task = TaskFactory(lead=[unit_a])
    ReportFactory(task=task, unit=unit_a)
    with pytest.raises(ProtectedError):
        task.delete()
    with pytest.raises(ProtectedError):
        unit_a.delete()
