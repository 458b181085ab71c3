"""`load_demo` builds exactly the hand-checked gold ledger; `add_user` creates and updates accounts."""

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from departments.models import Role, Unit, UnitAlias, UnitKind, User
from tasks.demo import PLANS
from tasks.models import Document, Milestone, Target, Task, TaskUnit

pytestmark = pytest.mark.django_db

SHARED_SEEDS = Path(settings.BASE_DIR).parent / "shared" / "seeds"
FIXTURE_PLANS = Path(settings.BASE_DIR) / "fixtures" / "plans"


def _gold(name: str) -> dict:
    folder = SHARED_SEEDS if (SHARED_SEEDS / f"{name}.gold.json").exists() else FIXTURE_PLANS
    return json.loads((folder / f"{name}.gold.json").read_text(encoding="utf-8"))


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=io.StringIO())


def _number(v):
    return Decimal(str(v))


def _target_key(op, value, value_high, indicator, unit, due):
    return (indicator, op, value, value_high, unit, due)


def test_load_demo_produces_exactly_the_gold_ledger_with_accounts_and_aliases(demo):
    # One test for several facts: loading the demo takes seconds.
    for name in PLANS:
        _assert_plan_matches_gold(_gold(name))
    _assert_demo_accounts()
    _assert_demo_aliases()


def _assert_plan_matches_gold(gold: dict):
    doc = Document.objects.get(doc_number=gold["doc_number"])
    tasks = {
        t.path_key: t
        for t in Task.objects.filter(document=doc).prefetch_related(
            "task_units__unit", "milestones", "targets"
        )
    }
    assert sorted(tasks) == sorted(".".join(g["path"]) for g in gold["tasks"])
    all_counties = set(Unit.objects.filter(kind=UnitKind.COUNTY).values_list("name", flat=True))
    for g in gold["tasks"]:
        where = ".".join(g["path"])
        task = tasks[where]
        assert task.path == g["path"], where
        assert task.title == g["title"], where
        assert task.text == g["text"], where
        assert [u.name for u in task.lead_units] == g["lead_units_normalized"], where
        assert [u.name for u in task.responsible_units] == g["responsible_units_normalized"], where
        assert task.counties_involved == g["counties_involved"], where
        if g["counties_involved"]:
            assert {u.name for u in task.counties} == all_counties, where
        expected_deadlines = sorted(
            (
                (d["text"][:200], dt.date.fromisoformat(d["date"]) if d.get("date") else None)
                for d in g["deadlines"]
            ),
            key=repr,
        )
        actual_deadlines = sorted(((m.text, m.date) for m in task.milestones.all()), key=repr)
        assert actual_deadlines == expected_deadlines, where
        expected_targets = []
        for t in g["targets"]:
            low, high = (t["value"], None) if not isinstance(t["value"], list) else t["value"]
            expected_targets.append(
                _target_key(
                    t["op"],
                    _number(low),
                    _number(high) if high is not None else None,
                    t["indicator"],
                    t.get("unit") or "",
                    dt.date.fromisoformat(t["by"]) if t.get("by") else None,
                )
            )
        actual_targets = [
            _target_key(t.op, t.value, t.value_high, t.indicator, t.unit, t.due) for t in task.targets.all()
        ]
        assert sorted(actual_targets, key=repr) == sorted(expected_targets, key=repr), where


def _assert_demo_accounts():
    assert Task.objects.count() == sum(len(_gold(n)["tasks"]) for n in PLANS) == 68
    roles = dict(User.objects.values_list("username", "role"))
    assert roles["yigaiban"] == Role.SECRETARIAT and roles["yibaoju"] == Role.REPORTER
    assert (
        roles["lingdao"] == Role.LEADER and roles["xitong"] == Role.ADMIN and roles["shenji"] == Role.AUDITOR
    )
    assert User.objects.get(username="yibaoju").unit.name == "市医疗保障局"
    assert User.objects.get(username="yexian").unit.kind == UnitKind.COUNTY
    assert User.objects.get(username="yibaoju").check_password("Ledger#2026")


def test_load_demo_twice_creates_no_duplicates(demo):
    from reports.models import Period

    def counts():
        return [
            m.objects.count()
            for m in (Document, Task, TaskUnit, Milestone, Target, Unit, UnitAlias, User, Period)
        ]

    before = counts()
    call_command("load_demo", stdout=io.StringIO())
    assert counts() == before


def _assert_demo_aliases():
    from departments.selectors import unit_resolve

    assert unit_resolve(name="市卫健委").name == "市卫生健康委"
    assert unit_resolve(name="市医保局").name == "市医疗保障局"
    assert unit_resolve(name="市人社局").name == "市人力资源和社会保障局"


# ---- add_user ----------------------------------------------------------------------------------------------


def test_add_user_creates_then_updates_an_account(unit_a, capsys):
    call_command("add_user", "zhang", "--role", "leader", "--password", "Secret#123")
    user = User.objects.get(username="zhang")
    assert user.role == Role.LEADER and user.check_password("Secret#123")
    assert "已创建" in capsys.readouterr().out
    call_command(
        "add_user", "zhang", "--role", "reporter", "--password", "Other#456", "--unit", "市医疗保障局"
    )
    user.refresh_from_db()
    assert user.role == Role.REPORTER and user.unit == unit_a and user.check_password("Other#456")
    assert "已更新" in capsys.readouterr().out
    assert User.objects.filter(username="zhang").count() == 1


def test_add_user_accepts_an_alias_for_the_unit(unit_a):
    UnitAlias.objects.create(unit=unit_a, alias="医保局")
    call_command("add_user", "li", "--role", "reporter", "--password", "Secret#123", "--unit", "医保局")
    assert User.objects.get(username="li").unit == unit_a


def test_add_user_refuses_a_reporter_without_unit_in_chinese(db):
    with pytest.raises(CommandError, match="填报员账号必须指定所属单位"):
        call_command("add_user", "wang", "--role", "reporter", "--password", "Secret#123")
    assert not User.objects.filter(username="wang").exists()


def test_add_user_refuses_unknown_unit_and_role_in_chinese(unit_a):
    with pytest.raises(CommandError, match="找不到单位“市火星局”"):
        call_command(
            "add_user", "wang", "--role", "reporter", "--password", "Secret#123", "--unit", "市火星局"
        )
    with pytest.raises(CommandError, match="未知角色“boss”"):
        call_command("add_user", "wang", "--role", "boss", "--password", "Secret#123")
    assert not User.objects.filter(username="wang").exists()
