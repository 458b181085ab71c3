"""TaskUnit has no FOREIGN KEY constraints (the import's deferred checks were too slow at 10,000 tasks); triggers
from tasks migration 0003 enforce the same references. These tests show a TaskUnit row can still never name a
task or unit that does not exist, however it is written, and the ORM's CASCADE and PROTECT still hold. SQLite
keeps its (deferred, checked at commit) FOREIGN KEY clauses, so the trigger tests run on PostgreSQL only."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError, deletion
from django.utils import timezone

from departments.models import Unit
from departments.services import ApplicationError
from tasks import bulk
from tasks import ledger_import as excel
from tasks.ledger_import import ledger_import
from tasks.models import Task, TaskUnit
from tests.factories import TaskFactory, UnitFactory

from .conftest import office_workbook

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the triggers are PostgreSQL's"
)


def _missing_id(model) -> int:
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def _refused(sql: str, params: list) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, params)
    except IntegrityError:
        return True
    return False


@postgresql_only
def test_a_task_unit_row_naming_an_unknown_unit_or_task_cannot_be_written():
    task, unit = TaskFactory(), UnitFactory()
    for task_id, unit_id in ((task.pk, _missing_id(Unit)), (_missing_id(Task), unit.pk)):
        with pytest.raises(IntegrityError), transaction.atomic():
            TaskUnit.objects.create(task_id=task_id, unit_id=unit_id, role=TaskUnit.Role.LEAD)
        assert _refused(
            "INSERT INTO tasks_taskunit (task_id, unit_id, role, position) VALUES (%s, %s, 'lead', 0)",
            [task_id, unit_id],
        )
        with (
            pytest.raises(IntegrityError),
            transaction.atomic(),
        ):  # the import's bulk writer (COPY on PostgreSQL)
            bulk.Writer(timezone.now()).insert(
                TaskUnit,
                ["task_id", "unit_id", "role", "position"],
                [(task.pk, unit.pk, "responsible", 0), (task_id, unit_id, "lead", 0)],
            )
    good = TaskUnit.objects.create(task=task, unit=unit, role=TaskUnit.Role.LEAD)
    assert _refused("UPDATE tasks_taskunit SET unit_id = %s WHERE id = %s", [_missing_id(Unit), good.pk])
    assert list(TaskUnit.objects.values_list("task_id", "unit_id")) == [(task.pk, unit.pk)]


@postgresql_only
def test_a_task_or_unit_named_by_task_units_cannot_be_deleted_or_renumbered_behind_the_orms_back():
    unit = UnitFactory()
    task = TaskFactory(lead=[unit])
    assert _refused("DELETE FROM departments_unit WHERE id = %s", [unit.pk])
    assert _refused("DELETE FROM tasks_task WHERE id = %s", [task.pk])
    assert _refused("UPDATE departments_unit SET id = %s WHERE id = %s", [_missing_id(Unit), unit.pk])
    assert _refused("UPDATE tasks_task SET id = %s WHERE id = %s", [_missing_id(Task), task.pk])
    assert not _refused("UPDATE tasks_task SET title = %s WHERE id = %s", ["改名", task.pk])
    assert not _refused("DELETE FROM departments_unit WHERE id = %s", [UnitFactory().pk])  # not referenced


def test_the_orm_still_protects_units_and_cascades_from_tasks():
    unit = UnitFactory()
    task = TaskFactory(lead=[unit], responsible=[UnitFactory()])
    with pytest.raises(ProtectedError), transaction.atomic():
        unit.delete()
    assert deletion.PROTECT is TaskUnit._meta.get_field("unit").remote_field.on_delete
    Task.objects.filter(pk=task.pk).delete()
    assert not TaskUnit.objects.exists() and Unit.objects.filter(pk=unit.pk).exists()


@postgresql_only
def test_an_import_whose_unit_disappears_before_the_write_writes_nothing(small_ledger, monkeypatch):
    """The unit is looked up, then removed (as by another session) before the rows go in: the trigger refuses
    the TaskUnit rows and the whole import is rolled back."""
    doc, finance = small_ledger["doc"], small_ledger["finance"]
    plan = excel.plan_import

    def plan_then_unit_deleted(*args, **kwargs):
        planned = plan(*args, **kwargs)
        with connection.cursor() as cur:
            cur.execute("DELETE FROM departments_unitalias WHERE unit_id = %s", [finance.pk])
            cur.execute("DELETE FROM departments_unit WHERE id = %s", [finance.pk])
        return planned

    monkeypatch.setattr(excel, "plan_import", plan_then_unit_deleted)
    rows = [
        ["一、", "第一部分"],
        ["1.", doc.doc_number, "推进医联体建设", "", "市卫健委", "市财政局", "2022年底", "", ""],
    ]
    with pytest.raises(ApplicationError, match="未写入任何数据"):
        ledger_import(data=office_workbook(rows), dry_run=False)
    assert not Task.objects.filter(document=doc).exists() and not TaskUnit.objects.exists()
