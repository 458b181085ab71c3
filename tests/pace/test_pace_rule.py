"""序时进度: the rule of tasks.pace, table-driven, with the day fixed. Pure: no database."""

import datetime as dt
from decimal import Decimal

import pytest

from tasks.models import Milestone, Progress, Target
from tasks.pace import Pace, pace_of, pace_schedule

D = dt.date
START = D(2026, 1, 1)
END = D(2026, 12, 31)  # 364 days after START


def target(
    indicator="县域就诊率",
    op=">=",
    value="90",
    due=END,
    baseline="70",
    latest=None,
    period_end=None,
    unit="%",
):
    return Target(
        indicator=indicator, op=op, value=Decimal(value), unit=unit, due=due,
        baseline=None if baseline is None else Decimal(baseline),
        latest_value=None if latest is None else Decimal(latest), latest_period_end=period_end,
    )  # fmt: skip


def milestone(date, done=False, text="2026年底前"):
    return Milestone(date=date, done=done, text=text)


CASES = [
    # (name, today, status, percent, period_end, milestones, targets, expected class)
    (
        "completed whatever the dates",
        D(2027, 6, 1),
        Progress.COMPLETED,
        None,
        None,
        [milestone(END)],
        [],
        Pace.COMPLETED,
    ),
    (
        "no dated deadline",
        D(2026, 6, 1),
        Progress.IN_PROGRESS,
        50,
        D(2026, 6, 30),
        [milestone(None)],
        [],
        Pace.UNKNOWN,
    ),
    (
        "before the plan's start",
        D(2025, 12, 31),
        Progress.NOT_STARTED,
        None,
        None,
        [milestone(END)],
        [],
        Pace.NOT_STARTED,
    ),
    (
        "nothing reported yet",
        D(2026, 6, 1),
        Progress.NOT_STARTED,
        None,
        None,
        [milestone(END)],
        [],
        Pace.UNKNOWN,
    ),
    (
        "in progress without percent is 序时推进",
        D(2026, 6, 1),
        Progress.IN_PROGRESS,
        None,
        D(2026, 3, 31),
        [milestone(END)],
        [],
        Pace.ON_PACE,
    ),
    (
        "self-reported 滞后",
        D(2026, 6, 1),
        Progress.LAGGING,
        None,
        D(2026, 3, 31),
        [milestone(END)],
        [],
        Pace.BEHIND,
    ),
    # time elapsed on 2026-07-02: 182/364 = 50 %
    (
        "percent equal to time elapsed",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        50,
        D(2026, 6, 30),
        [milestone(END)],
        [],
        Pace.ON_PACE,
    ),
    (
        "percent 10 points behind is still on pace",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        40,
        D(2026, 6, 30),
        [milestone(END)],
        [],
        Pace.ON_PACE,
    ),
    (
        "percent 11 points behind",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        39,
        D(2026, 6, 30),
        [milestone(END)],
        [],
        Pace.BEHIND,
    ),
    (
        "percent 10 points ahead is on pace",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        60,
        D(2026, 6, 30),
        [milestone(END)],
        [],
        Pace.ON_PACE,
    ),
    (
        "percent 11 points ahead",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        61,
        D(2026, 6, 30),
        [milestone(END)],
        [],
        Pace.AHEAD,
    ),
    (
        "reported 未启动 counts as 0 %",
        D(2026, 3, 1),
        Progress.NOT_STARTED,
        None,
        D(2026, 3, 31),
        [milestone(END)],
        [],
        Pace.BEHIND,
    ),
    (
        "reported 未启动 early is on pace",
        D(2026, 1, 20),
        Progress.NOT_STARTED,
        None,
        D(2026, 3, 31),
        [milestone(END)],
        [],
        Pace.ON_PACE,
    ),
    (
        "a missed intermediate milestone",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        90,
        D(2026, 6, 30),
        [milestone(D(2026, 6, 30)), milestone(END)],
        [],
        Pace.BEHIND,
    ),
    (
        "a milestone done on time",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        50,
        D(2026, 6, 30),
        [milestone(D(2026, 6, 30), done=True), milestone(END)],
        [],
        Pace.ON_PACE,
    ),
    (
        "past the deadline, 95 % done",
        D(2027, 1, 5),
        Progress.IN_PROGRESS,
        95,
        D(2026, 12, 31),
        [milestone(END)],
        [],
        Pace.BEHIND,
    ),
    # targets: 70 → 90 over the year; on 2026-07-02 the line is at 80, band 2 points
    (
        "target on the line",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target(latest="80")],
        Pace.ON_PACE,
    ),
    (
        "target within the band below",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target(latest="78")],
        Pace.ON_PACE,
    ),
    (
        "target below the band",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target(latest="77.9")],
        Pace.BEHIND,
    ),
    (
        "target above the band",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target(latest="82.1")],
        Pace.AHEAD,
    ),
    (
        "target without a value: time alone cannot judge",
        D(2026, 7, 2),
        Progress.NOT_STARTED,
        None,
        None,
        [],
        [target()],
        Pace.UNKNOWN,
    ),
    (
        "target due and not met",
        D(2027, 1, 1),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target(latest="89.5")],
        Pace.BEHIND,
    ),
    (
        "target met before its date",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target(latest="91")],
        Pace.AHEAD,
    ),
    (
        "target met on its date",
        END,
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target(latest="90")],
        Pace.ON_PACE,
    ),
    # falling indicator: 个人卫生支出占比 30 → 25 (≤)
    (
        "falling target on pace",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target("个人卫生支出占比", "<=", "25", baseline="30", latest="27.5")],
        Pace.ON_PACE,
    ),
    (
        "falling target behind",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target("个人卫生支出占比", "<=", "25", baseline="30", latest="28.2")],
        Pace.BEHIND,
    ),
    (
        "falling target ahead",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target("个人卫生支出占比", "<=", "25", baseline="30", latest="26.8")],
        Pace.AHEAD,
    ),
    # increase by 30 from 600
    (
        "increase on pace",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target("补助标准", "+=", "30", baseline="600", latest="615", unit="元")],
        Pace.ON_PACE,
    ),
    # two targets on one indicator: 70 → 80 by mid-year → 90 by year end
    (
        "through the milestones: first leg",
        D(2026, 4, 1),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target(value="80", due=D(2026, 6, 30), latest="72"), target(latest="72")],
        Pace.BEHIND,
    ),
    (
        "no baseline: not met before due is not judged",
        D(2026, 7, 2),
        Progress.NOT_STARTED,
        None,
        None,
        [],
        [target(baseline=None, latest="85")],
        Pace.UNKNOWN,
    ),
    (
        "no baseline: then the unit's 推进中 counts",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target(baseline=None, latest="85")],
        Pace.ON_PACE,
    ),
    (
        "no baseline: not met after due",
        D(2027, 1, 2),
        Progress.IN_PROGRESS,
        None,
        None,
        [],
        [target(baseline=None, latest="85")],
        Pace.BEHIND,
    ),
    (
        "a behind target outweighs an ahead percent",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        90,
        D(2026, 6, 30),
        [milestone(END)],
        [target(latest="75")],
        Pace.BEHIND,
    ),
    (
        "ahead needs every measure ahead",
        D(2026, 7, 2),
        Progress.IN_PROGRESS,
        90,
        D(2026, 6, 30),
        [milestone(END)],
        [target(latest="80")],
        Pace.ON_PACE,
    ),
]


@pytest.mark.parametrize(
    "today,status,percent,period_end,milestones,targets,expected",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_pace_class_follows_the_documented_rule(
    today, status, percent, period_end, milestones, targets, expected
):
    dates = [m.date for m in milestones if m.date] + [t.due for t in targets if t.due]
    deadline = max(dates) if dates else None
    kw = dict(
        status=status, start=START, deadline=deadline, milestones=milestones, targets=targets,
        reported_percent=percent, reported_period_end=period_end,
    )  # fmt: skip
    info = pace_of(**kw, today=today)
    assert info.pace == expected, info.reason
    assert info.reason
    # the stored schedule (what SQL counts) gives the same class
    assert pace_schedule(**kw).classify(today) == expected


@pytest.mark.parametrize(
    "name,today,status,percent,period_end,milestones,targets,expected", CASES, ids=[c[0] for c in CASES]
)
def test_schedule_agrees_with_pace_of_on_every_day_of_the_year(
    name, today, status, percent, period_end, milestones, targets, expected
):
    dates = [m.date for m in milestones if m.date] + [t.due for t in targets if t.due]
    kw = dict(
        status=status, start=START, deadline=max(dates) if dates else None, milestones=milestones, targets=targets,
        reported_percent=percent, reported_period_end=period_end,
    )  # fmt: skip
    schedule = pace_schedule(**kw)
    day = D(2025, 12, 20)
    while day <= D(2027, 1, 10):
        assert schedule.classify(day) == pace_of(**kw, today=day).pace, day
        day += dt.timedelta(days=7)


def test_reason_names_the_expected_and_the_latest_value_with_its_quarter():
    t = target(latest="79", period_end=D(2026, 9, 30), value="90", baseline="70")
    info = pace_of(
        status=Progress.IN_PROGRESS,
        start=START,
        deadline=END,
        milestones=[],
        targets=[t],
        today=D(2026, 10, 1),
    )
    # 70 + 20 × 273/364 = 85
    assert info.pace == Pace.BEHIND
    assert info.reason == "县域就诊率 应达 85%，最新填报 79%（2026年第三季度）"
    assert info.expected[id(t)] == Decimal("85.00")


def test_reason_for_percent_says_time_elapsed_and_reported_percent():
    info = pace_of(
        status=Progress.IN_PROGRESS, start=START, deadline=END, milestones=[milestone(END)], targets=[],
        reported_percent=20, reported_period_end=D(2026, 6, 30), today=D(2026, 7, 2),
    )  # fmt: skip
    assert info.pace == Pace.BEHIND
    assert info.reason == "时间已过 50%（2026-01-01 至 2026-12-31），最新填报完成 20%（2026年第二季度）"


def test_expected_value_before_the_start_is_the_baseline():
    t = target(latest="70")
    info = pace_of(
        status=Progress.NOT_STARTED,
        start=START,
        deadline=END,
        milestones=[],
        targets=[t],
        today=D(2025, 6, 1),
    )
    assert info.pace == Pace.NOT_STARTED
    assert info.expected[id(t)] == Decimal("70.00")
