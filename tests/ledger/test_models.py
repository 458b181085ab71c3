from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from tasks.models import Target, Task, path_sort_key
from tests.factories import DocumentFactory, TaskFactory

D = Decimal


def test_path_sort_puts_ten_after_nine():
    paths = [
        ["二", "(一)", "10"],
        ["二", "(一)", "9"],
        ["一", "(十二)"],
        ["一", "(二)"],
        ["十", "1"],
        ["二", "1"],
    ]
    ordered = sorted(paths, key=path_sort_key)
    assert ordered == [
        ["一", "(二)"],
        ["一", "(十二)"],
        ["二", "1"],
        ["二", "(一)", "9"],
        ["二", "(一)", "10"],
        ["十", "1"],
    ]


@pytest.mark.django_db
def test_ledger_orders_tasks_in_plan_order_not_text_order():
    doc = DocumentFactory()
    for last in ("10", "9", "1"):
        TaskFactory(document=doc, path=["二", "(一)", last])
    assert [t.path_key for t in Task.objects.filter(document=doc)] == ["二.(一).1", "二.(一).9", "二.(一).10"]


@pytest.mark.django_db
def test_two_live_tasks_cannot_share_a_path_in_one_document():
    doc = DocumentFactory()
    TaskFactory(document=doc, path=["一", "(一)"])
    TaskFactory(document=DocumentFactory(), path=["一", "(一)"])  # another document: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskFactory(document=doc, path=["一", "(一)"])


@pytest.mark.django_db
def test_a_deleted_task_frees_its_path():
    from django.utils import timezone

    doc = DocumentFactory()
    old = TaskFactory(document=doc, path=["一", "(一)"])
    Task.objects.filter(pk=old.pk).update(deleted_at=timezone.now())
    TaskFactory(document=doc, path=["一", "(一)"])
    assert Task.objects.filter(document=doc).count() == 2


@pytest.mark.parametrize(
    "op, value, high, baseline, actual, met",
    [
        (">=", "90", None, None, "90", True),
        (">=", "90", None, None, "89.9", False),
        (">", "90", None, None, "90", False),
        ("<=", "20", None, None, "20", True),
        ("<=", "20", None, None, "21", False),
        ("<", "20", None, None, "19", True),
        ("=", "100", None, None, "100", True),
        ("=", "100", None, None, "99", False),
        ("~", "100", None, None, "104", True),
        ("~", "100", None, None, "106", False),
        ("between", "60", "80", None, "70", True),
        ("between", "60", "80", None, "81", False),
        ("+=", "30", None, "520", "550", True),
        ("+=", "30", None, "520", "549", False),
        (">=", "90", None, None, None, None),
    ],
)
def test_target_is_met_by_each_comparison(op, value, high, baseline, actual, met):
    target = Target(
        indicator="指标",
        op=op,
        value=D(value),
        value_high=D(high) if high else None,
        baseline=D(baseline) if baseline else None,
    )
    assert target.is_met_by(D(actual) if actual is not None else None) is met


def test_target_label_reads_like_the_plan():
    assert Target(indicator="县域就诊率", op=">=", value=D("90.0000"), unit="%").label == "县域就诊率≥90%"
    assert (
        Target(indicator="床位数", op="between", value=D("6"), value_high=D("7.5"), unit="张").label
        == "床位数6–7.5张"
    )
    assert Target(indicator="补助标准", op="+=", value=D("30"), unit="元").label == "补助标准增加30元"


def test_a_between_target_needs_an_upper_value():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as e:
        Target(indicator="x", op="between", value=D("5")).clean()
    assert "上限" in str(e.value)
