"""A small hand-made ledger for the ledger tests: two departments with aliases, two counties, three tasks."""

import datetime as dt
from decimal import Decimal

import pytest

from departments.models import UnitAlias, UnitKind
from tasks.models import Progress
from tasks.services import task_refresh_schedule
from tests.factories import DocumentFactory, MilestoneFactory, TargetFactory, TaskFactory, UnitFactory

TODAY = dt.date(2024, 6, 1)


@pytest.fixture
def today():
    return TODAY


@pytest.fixture
def ledger(db, unit_a, unit_b, county):
    """
    t_overdue: lead 市医疗保障局, county 叶县政府, milestone 2024-03-31 (past)  -> 超期
    t_soon:    lead 市卫生健康委, responsible 市医疗保障局, target due 2024-06-20 -> 临期
    t_done:    lead 市财政局, status completed, in another document            -> 已完成
    """
    health = UnitFactory(name="市卫生健康委", short_name="市卫健委")
    UnitAlias.objects.create(unit=health, alias="市卫生健康委员会")
    UnitAlias.objects.create(unit=unit_a, alias="市医保局")
    other_county = UnitFactory(name="郏县政府", short_name="郏县", kind=UnitKind.COUNTY)
    doc = DocumentFactory(doc_number="平办〔2020〕7号", title="平顶山市深化医改实施方案")
    doc2 = DocumentFactory(doc_number="石政办函〔2020〕32号", title="石家庄市重点任务")
    t_overdue = TaskFactory(
        document=doc,
        path=["二", "(一)", "9"],
        title="推进医保支付方式改革",
        text="按病种付费",
        lead=[unit_a],
        counties=[county],
    )
    MilestoneFactory(task=t_overdue, date=dt.date(2024, 3, 31), text="2024年一季度", context="完成试点")
    t_soon = TaskFactory(
        document=doc,
        path=["二", "(一)", "10"],
        title="提高县域就诊率",
        text="县域内就诊率提高",
        lead=[health],
        responsible=[unit_a],
    )
    TargetFactory(
        task=t_soon, indicator="县域就诊率", op=">=", value=Decimal("90"), unit="%", due=dt.date(2024, 6, 20)
    )
    t_done = TaskFactory(
        document=doc2, path=["一", "(一)"], title="财政投入保障", lead=[unit_b], status=Progress.COMPLETED
    )
    MilestoneFactory(task=t_done, date=dt.date(2024, 1, 31), text="2024年1月")
    for t in (t_overdue, t_soon, t_done):
        task_refresh_schedule(task=t)
        t.refresh_from_db()
    return {
        "doc": doc,
        "doc2": doc2,
        "health": health,
        "other_county": other_county,
        "overdue": t_overdue,
        "soon": t_soon,
        "done": t_done,
    }
