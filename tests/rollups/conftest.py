"""A small hand-built ledger whose roll-up figures are worked out by hand in the tests.

Today is 2024-09-10; the open period is 2024Q3 (due 2024-09-20, ends 2024-09-30); 2024Q2 is the previous one.

Units: A 市医疗保障局, B 市财政局, C 市卫生健康委 (departments); K1 叶县, K2 鲁山县 (counties).

    task  path       lead  responsible  counties  status       next deadline  light
    T1    一.(一).1  A     B            K1, K2    in progress  2024-06-30     overdue (72 days)
    T2    一.(一).2  A     B, C         -         completed    -              done
    T3    二.(一).1  B     A            -         in progress  2024-09-30     due soon (20 days)
    T4    二.(二).1  C     -            K1        in progress  2025-06-30     normal
    T5    三.(一).1  A     A (twice!)   -         not started  -              normal
    T6    三.(一).2  A     -            -         deleted: counts nowhere

Targets (latest value against target; "due" = due on or before 2024-09-30):
    T1 县域就诊率 >= 90 by 2024-06-30, latest 92          met
    T1 床位使用率 between 5 and 8 by 2024-09-30, no value  not met
    T2 覆盖率 ~ 100 by 2024-03-31, latest 96               met (within 5%)
    T3 药占比 <= 10 by 2024-09-30, latest 12                not met
    T4 签约率 >= 80 by 2025-06-30, latest 85                not due in Q3
    T5 增加补助 += 30 (baseline 500) by 2024-08-31, latest 540   met

Reports in 2024Q3: A-T1 submitted on time; A-T2 accepted late (reports 已完成); A-T3 draft; A-T5 none;
A-T4 submitted (A does not carry T4: must not count); B-T1 returned; B-T3 submitted; B-T2 none;
C-T4 accepted; C-T2 submitted late; K1-T1 submitted; K1-T4 none; K2-T1 submitted late.
Reports in 2024Q2: A-T1 accepted on time; B-T3 submitted on time; K1-T1 accepted late.
"""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from departments.models import Role, UnitKind
from reports.models import ReportStatus
from tasks.models import Progress, TaskUnit
from tests.factories import (
    DocumentFactory,
    MilestoneFactory,
    PeriodFactory,
    ReportFactory,
    TargetFactory,
    TaskFactory,
    UnitFactory,
    UserFactory,
)

TODAY = dt.date(2024, 9, 10)


@pytest.fixture
def ledger(db, unit_a, unit_b, county):
    c = UnitFactory(name="市卫生健康委", short_name="市卫健委")
    k2 = UnitFactory(name="鲁山县政府", short_name="鲁山县", kind=UnitKind.COUNTY)
    a, b, k1 = unit_a, unit_b, county
    doc = DocumentFactory(doc_number="测办〔2024〕1号", title="测试市深化医改实施方案")

    def task(
        path, lead, responsible=(), counties=(), status=Progress.IN_PROGRESS, open_due=None, deadline=None
    ):
        return TaskFactory(
            document=doc,
            path=path,
            lead=list(lead),
            responsible=list(responsible),
            counties=list(counties),
            status=status,
            open_due=open_due,
            deadline=deadline,
        )

    t1 = task(
        ["一", "(一)", "1"], [a], [b], [k1, k2], open_due=dt.date(2024, 6, 30), deadline=dt.date(2024, 9, 30)
    )
    MilestoneFactory(task=t1, date=dt.date(2024, 6, 30), text="2024年6月底前", context="完成县域医共体试点")
    t2 = task(["一", "(一)", "2"], [a], [b, c], status=Progress.COMPLETED, deadline=dt.date(2024, 3, 31))
    t3 = task(["二", "(一)", "1"], [b], [a], open_due=dt.date(2024, 9, 30), deadline=dt.date(2024, 9, 30))
    MilestoneFactory(task=t3, date=dt.date(2024, 9, 30), text="2024年9月底前")
    t4 = task(
        ["二", "(二)", "1"], [c], [], [k1], open_due=dt.date(2025, 6, 30), deadline=dt.date(2025, 6, 30)
    )
    MilestoneFactory(task=t4, date=dt.date(2025, 6, 30), text="2025年6月底前")
    t5 = task(["三", "(一)", "1"], [a], [a], status=Progress.NOT_STARTED, deadline=dt.date(2024, 8, 31))
    t6 = task(["三", "(一)", "2"], [a], [b], [k1], open_due=dt.date(2024, 1, 31))
    t6.deleted_at = timezone.now()
    t6.save()

    targets = SimpleNamespace(
        t1_met=TargetFactory(
            task=t1,
            indicator="县域就诊率",
            op=">=",
            value=Decimal(90),
            due=dt.date(2024, 6, 30),
            latest_value=Decimal(92),
        ),
        t1_open=TargetFactory(
            task=t1,
            indicator="床位使用率",
            op="between",
            value=Decimal(5),
            value_high=Decimal(8),
            due=dt.date(2024, 9, 30),
            latest_value=None,
        ),
        t2_met=TargetFactory(
            task=t2,
            indicator="覆盖率",
            op="~",
            value=Decimal(100),
            due=dt.date(2024, 3, 31),
            latest_value=Decimal(96),
        ),
        t3_open=TargetFactory(
            task=t3,
            indicator="药占比",
            op="<=",
            value=Decimal(10),
            due=dt.date(2024, 9, 30),
            latest_value=Decimal(12),
        ),
        t4_later=TargetFactory(
            task=t4,
            indicator="签约率",
            op=">=",
            value=Decimal(80),
            due=dt.date(2025, 6, 30),
            latest_value=Decimal(85),
        ),
        t5_met=TargetFactory(
            task=t5,
            indicator="人均补助",
            op="+=",
            value=Decimal(30),
            baseline=Decimal(500),
            due=dt.date(2024, 8, 31),
            latest_value=Decimal(540),
        ),
        t6_deleted=TargetFactory(
            task=t6, indicator="已删除任务的指标", op=">=", value=Decimal(1), due=dt.date(2024, 1, 31)
        ),
    )

    q2 = PeriodFactory(year=2024, quarter=2, is_open=False)
    q3 = PeriodFactory(year=2024, quarter=3, is_open=True)
    at = timezone.make_aware(dt.datetime(2024, 9, 15, 10, 0))

    def report(t, unit, period, status, late=False, progress=Progress.IN_PROGRESS):
        return ReportFactory(
            task=t,
            unit=unit,
            period=period,
            status=status,
            is_late=late,
            progress=progress,
            submitted_at=None if status == ReportStatus.DRAFT else at,
        )

    S, A_, R, D = ReportStatus.SUBMITTED, ReportStatus.ACCEPTED, ReportStatus.RETURNED, ReportStatus.DRAFT
    report(t1, a, q3, S)
    report(t2, a, q3, A_, late=True, progress=Progress.COMPLETED)
    report(t3, a, q3, D)
    report(t4, a, q3, S)  # A does not carry T4
    report(t1, b, q3, R)
    report(t3, b, q3, S)
    report(t4, c, q3, A_)
    report(t2, c, q3, S, late=True)
    report(t1, k1, q3, S)
    report(t1, k2, q3, S, late=True)
    report(t6, a, q3, S)  # deleted task
    report(t1, a, q2, A_)
    report(t3, b, q2, S)
    report(t1, k1, q2, A_, late=True)

    return SimpleNamespace(
        a=a,
        b=b,
        c=c,
        k1=k1,
        k2=k2,
        doc=doc,
        t1=t1,
        t2=t2,
        t3=t3,
        t4=t4,
        t5=t5,
        t6=t6,
        q2=q2,
        q3=q3,
        targets=targets,
        today=TODAY,
    )


@pytest.fixture
def leader_user(db):
    return UserFactory(username="leader_r", role=Role.LEADER)


def assert_taskunit_dup(ledger):
    """T5 really carries unit A twice (lead and responsible): the test of counting it once is meaningful."""
    assert TaskUnit.objects.filter(task=ledger.t5, unit=ledger.a).count() == 2
