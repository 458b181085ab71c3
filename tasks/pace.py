"""序时进度 (pace): is a task where it should be by now, given the time elapsed and what was reported?

One pure computation for pages, API, lights, roll-ups and the 通报. It reads only the task's own fields (status,
the denormalised start and latest reported percent, milestones, targets with their baseline and latest value),
never the report history, so `tasks` does not depend on `reports`.

The rule (README "序时进度" says the same in Chinese):

- S, the start: the plan's issue date (Document.issued_on), else the first day of the earliest reporting period of
  the plan, else the day the task entered the ledger (stored as Task.pace_start). D, the task's deadline: its last
  dated milestone or target (Task.deadline).
- 已完成 (completed): the task's status is 已完成. 无法判断 (unknown) without a dated deadline.
- 未启动 (not_started): today is before S.
- Measures, each judged on its own:
  * a numeric target with a baseline: the expected value on a straight line from the baseline at S to the value at
    its due date, through the due dates of the earlier targets on the same indicator where there are several
    (the line never goes back; after the last due date it stays at the final value). latest is compared with
    expected_now in the direction of travel (baseline → target), with a band of PACE_TOLERANCE (10 %) of the whole
    way: beyond expected_now + band → 超进度, short of expected_now − band → 欠进度, otherwise 达进度.
  * a target without a baseline: already met before its due date → 超进度, met from its due date on → 达进度;
    without a value, no judgement before its due date.
  * a target past its due date and not met, or a dated milestone past its date and not done → 欠进度 from the
    next day (the light is red then too).
  * the latest reported 完成百分比 P (the newest submitted report, lead unit first) against the share of time
    elapsed E = (today − S) / (D − S): P ≥ E + 10 points → 超进度, P < E − 10 points → 欠进度, else 达进度. A report
    of 未启动 without a percent counts as P = 0.
  * the reported status without a percent: 滞后 → 欠进度; 推进中 (序时推进) → 达进度 where no target value
    was reported either.
- The task: 欠进度 if any measure says so; else 超进度 if it has measures and all of them say 超进度; else 达进度 if
  it has any; else 无法判断 (no data).

Every measure is monotone in time (once behind, behind until something is reported; ahead only until a date), so
the rule reduces to four dates per task (`PaceSchedule`), which tasks.services stores on the task: SQL counts the
classes of 20,000 tasks in one aggregate (`pace_case`), and Python (`pace_of`) gives the same class with its
reason for the rows on screen.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.db.models import Case, CharField, Q, Value, When

from .models import Progress, Target

TOLERANCE = Fraction(1, 10)  # 达进度 band: 10 % of the way (10 points of time or of baseline → target)
FAR = dt.date(9999, 12, 31)  # "ahead for good": the target is beyond its final value already


class Pace:
    COMPLETED = "completed"
    AHEAD = "ahead"
    ON_PACE = "on_pace"
    BEHIND = "behind"
    NOT_STARTED = "not_started"
    UNKNOWN = "unknown"

    ALL = (COMPLETED, AHEAD, ON_PACE, BEHIND, NOT_STARTED, UNKNOWN)
    LABELS = {
        COMPLETED: "已完成",
        AHEAD: "超进度",
        ON_PACE: "达进度",
        BEHIND: "欠进度",
        NOT_STARTED: "未启动",
        UNKNOWN: "无法判断",
    }
    choices = [(k, v) for k, v in LABELS.items()]


def quarter_label(day: dt.date | None) -> str:
    return f"{day.year}年第{'一二三四'[(day.month - 1) // 3]}季度" if day else ""


def fmt_number(v) -> str:
    if v is None:
        return ""
    d = Decimal(v) if not isinstance(v, Fraction) else Decimal(v.numerator) / Decimal(v.denominator)
    d = d.quantize(Decimal("0.01")).normalize()
    return format(d, "f")


# --- measures ----------------------------------------------------------------------------------------------------


@dataclass
class Measure:
    """One thing that says where the task stands. `behind_on`: first day it says 欠进度 (None: never);
    `ahead_until`: last day it says 超进度 (None: never); `measured`: it has data to judge on (else it can only
    say 欠进度, e.g. a milestone missed)."""

    behind_on: dt.date | None
    ahead_until: dt.date | None
    measured: bool
    describe: object  # callable(today) -> str
    target_id: int | None = None


def _first_day(t0: int, t1: int, v0: Fraction, v1: Fraction, level: Fraction, *, strict: bool) -> int | None:
    """On the rising line from (t0, v0) to (t1, v1), the first integer day t in [t0, t1] with v(t) > level
    (strict) or v(t) >= level; None if there is none."""
    if (v1 <= level) if strict else (v1 < level):
        return None
    if (v0 > level) if strict else (v0 >= level):
        return t0
    x = t0 + (level - v0) * (t1 - t0) / (v1 - v0)  # where v(x) == level
    day = math.floor(x) + 1 if strict else math.ceil(x)
    return max(t0, min(day, t1))


@dataclass
class Line:
    """The expected path of one indicator: points (day ordinal, value) from the baseline at the start, rising in
    the direction `sign` (values are stored multiplied by sign, so the line always rises; it never goes back)."""

    sign: int
    points: list[tuple[int, Fraction]]  # signed values, non-decreasing, days strictly increasing

    def at(self, day: int) -> Fraction:
        pts = self.points
        if day <= pts[0][0]:
            return pts[0][1]
        for (t0, v0), (t1, v1) in zip(pts, pts[1:], strict=False):
            if day <= t1:
                return v0 + (v1 - v0) * (day - t0) / (t1 - t0)
        return pts[-1][1]

    def first_day(self, level: Fraction, *, strict: bool) -> int | None:
        """The first day the line is above (strict) or at least at `level`; None: never."""
        pts = self.points
        if (pts[0][1] > level) if strict else (pts[0][1] >= level):
            return pts[0][0]
        for (t0, v0), (t1, v1) in zip(pts, pts[1:], strict=False):
            day = _first_day(t0, t1, v0, v1, level, strict=strict)
            if day is not None:
                return day
        return None


def _key(t: Target) -> int:
    return t.pk if t.pk is not None else id(t)  # unsaved targets (tests, previews) are told apart too


def _endpoint(t: Target, baseline: Decimal) -> Decimal:
    if t.op == Target.Op.INCREASE:
        return baseline + t.value
    if t.op == Target.Op.BETWEEN and t.value_high is not None and baseline > t.value_high:
        return t.value_high
    return t.value


def _target_lines(targets, start: dt.date) -> dict[int, tuple[Line, Fraction, Fraction]]:
    """{target id: (line, band)} for dated targets with a baseline. Targets on the same indicator
    (and unit) form one line through their due dates; each target's line ends at its own due date's value."""
    groups: dict[tuple[str, str], list[Target]] = {}
    for t in targets:
        if t.due is not None and t.value is not None:
            groups.setdefault((t.indicator.strip(), t.unit), []).append(t)
    out = {}
    s = start.toordinal()
    for group in groups.values():
        group.sort(key=lambda t: (t.due, t.pk or 0))
        baseline = next((t.baseline for t in group if t.baseline is not None), None)
        if baseline is None:
            continue
        final = _endpoint(group[-1], baseline)
        sign = 1 if final >= baseline else -1
        band = abs(Fraction(final) - Fraction(baseline)) * TOLERANCE
        points = [(s, Fraction(baseline) * sign)]
        for t in group:
            day = max(t.due.toordinal(), s + 1)
            value = Fraction(_endpoint(t, baseline)) * sign
            value = max(value, points[-1][1])  # the line never goes back
            if day <= points[-1][0]:
                points[-1] = (points[-1][0], value)
            else:
                points.append((day, value))
            out[_key(t)] = (Line(sign=sign, points=list(points)), band)
    return out


def _date(ordinal: int | None) -> dt.date | None:
    if ordinal is None:
        return None
    return dt.date.fromordinal(min(ordinal, dt.date.max.toordinal()))


def _target_measure(t: Target, line_band, *, start: dt.date) -> Measure:
    latest = t.latest_value
    when = quarter_label(getattr(t, "latest_period_end", None)) or (
        f"{t.latest_value_at:%Y-%m-%d} 填报" if t.latest_value_at else ""
    )
    when = f"（{when}）" if when else ""
    name = t.indicator
    unit = t.unit
    met = t.is_met_by(latest)
    missed_on = t.due + dt.timedelta(days=1) if t.due and not met else None

    if line_band is None:  # no baseline: only "met already" or "missed"

        def describe(today, t=t):
            if latest is None:
                if t.due and today > t.due:
                    return f"{name} 应于 {t.due:%Y-%m-%d} 达到 {t.label[len(name) :]}，尚无填报值"
                return f"{name} 尚无填报值，未填基线无法计算应达值"
            state = "已达到" if met else "未达到"
            return f"{name} 目标 {t.label[len(name) :]}（{t.due:%Y-%m-%d}），最新填报 {fmt_number(latest)}{unit}{when}，{state}"

        if latest is None:
            return Measure(missed_on, None, False, describe, t.pk)
        if not met:  # below a target with no baseline: no line to tell how far it should be by now
            return Measure(missed_on, None, False, describe, t.pk)
        return Measure(None, t.due - dt.timedelta(days=1), True, describe, t.pk)

    line, band = line_band
    sign = line.sign

    def expected(today) -> Fraction:
        return line.at(max(today, start).toordinal()) * sign

    def describe(today, t=t):
        exp = fmt_number(expected(today))
        if latest is None:
            return f"{name} 应达 {exp}{unit}，尚无填报值"
        return f"{name} 应达 {exp}{unit}，最新填报 {fmt_number(latest)}{unit}{when}"

    if latest is None:
        return Measure(missed_on, None, False, describe, t.pk)
    v = Fraction(latest) * sign
    # 欠进度 once line(t) - v > band; 超进度 while v - line(t) > band, i.e. up to the day before line(t) >= v - band
    behind = _date(line.first_day(v + band, strict=True))
    if missed_on and (behind is None or missed_on < behind):
        behind = missed_on
    reach = line.first_day(v - band, strict=False)
    ahead_day = FAR if reach is None else _date(reach - 1) if reach > line.points[0][0] else None
    return Measure(behind, ahead_day, True, describe, t.pk)


@dataclass
class PaceSchedule:
    """The four dates the class follows from (stored on Task as pace_*): `fixed` a class that does not depend on
    the day ('' if it does), `start`, `behind_on`, `ahead_until`, and whether any measure has data."""

    fixed: str
    start: dt.date | None
    behind_on: dt.date | None
    ahead_until: dt.date | None
    measured: bool

    def classify(self, today: dt.date) -> str:
        if self.fixed:
            return self.fixed
        if self.start is not None and today < self.start:
            return Pace.NOT_STARTED
        if self.behind_on is not None and self.behind_on <= today:
            return Pace.BEHIND
        if self.ahead_until is not None and today <= self.ahead_until:
            return Pace.AHEAD
        return Pace.ON_PACE if self.measured else Pace.UNKNOWN


@dataclass
class PaceInfo:
    pace: str
    reason: str
    expected: dict[int, Decimal | None] = field(default_factory=dict)  # target id -> expected_now

    @property
    def label(self) -> str:
        return Pace.LABELS[self.pace]


def _measures(*, status, start, deadline, milestones, targets, reported_percent, reported_period_end):
    measures: list[Measure] = []
    lines = _target_lines(targets, start)
    for t in targets:
        if t.due is None:
            continue
        measures.append(_target_measure(t, lines.get(_key(t)), start=start))
    for m in milestones:
        if m.date is not None and not m.done:
            what = (m.context or "").strip() or m.text or "时间节点"
            if len(what) > 30:
                what = what[:30] + "…"

            def describe(today, m=m, what=what):
                return f"节点 {m.date:%Y-%m-%d}“{what}”已过，未完成"

            measures.append(Measure(m.date + dt.timedelta(days=1), None, False, describe))
    s, d = start.toordinal(), deadline.toordinal()
    span = max(d - s, 1)
    when = f"（{quarter_label(reported_period_end)}）" if reported_period_end else ""

    def elapsed(today) -> Fraction:
        return min(max(Fraction(today.toordinal() - s, span), Fraction(0)), Fraction(1))

    percent = reported_percent
    if percent is None and reported_period_end is not None and status == Progress.NOT_STARTED:
        percent = 0
    if percent is not None:
        p = Fraction(min(max(int(percent), 0), 100), 100)
        # 欠进度 once E - P > tol  <=>  t - s > (p + tol) * span
        behind = None if p + TOLERANCE >= 1 else _date(s + math.floor((p + TOLERANCE) * span) + 1)
        # 超进度 while P - E > tol  <=>  t - s < (p - tol) * span
        ahead = None if p <= TOLERANCE else _date(s + math.ceil((p - TOLERANCE) * span) - 1)

        def describe(today, p=p, percent=percent):
            e = elapsed(today)
            return (
                f"时间已过 {fmt_number(e * 100)}%（{start:%Y-%m-%d} 至 {deadline:%Y-%m-%d}），"
                f"最新填报完成 {int(percent)}%{when}"
            )

        measures.append(Measure(behind, ahead, True, describe))
    elif status == Progress.LAGGING:
        measures.append(Measure(start, None, True, lambda today: f"牵头单位填报“滞后”{when}"))
    elif status == Progress.IN_PROGRESS and not any(m.measured for m in measures):
        # the unit's own 推进中 (序时推进) counts only where nothing measurable was reported
        measures.append(Measure(None, None, True, lambda today: f"牵头单位填报“推进中”（序时推进）{when}"))
    return measures


def _combine(measures, start) -> tuple[dt.date | None, dt.date | None, bool]:
    behind = min((m.behind_on for m in measures if m.behind_on is not None), default=None)
    if behind is not None and behind < start:
        behind = start
    measured = [m for m in measures if m.measured]
    ahead = None
    if measured and all(m.ahead_until is not None for m in measured):
        ahead = min(m.ahead_until for m in measured)
    return behind, ahead, bool(measured)


def _fixed(status, deadline, start) -> str:
    if status == Progress.COMPLETED:
        return Pace.COMPLETED
    if deadline is None or start is None:
        return Pace.UNKNOWN
    return ""


def pace_schedule(
    *, status, start, deadline, milestones, targets, reported_percent=None, reported_period_end=None
) -> PaceSchedule:
    """The stored form of the rule for one task (see the module docstring)."""
    fixed = _fixed(status, deadline, start)
    if fixed:
        return PaceSchedule(fixed, start, None, None, False)
    ms = _measures(
        status=status, start=start, deadline=deadline, milestones=milestones, targets=targets,
        reported_percent=reported_percent, reported_period_end=reported_period_end,
    )  # fmt: skip
    behind, ahead, measured = _combine(ms, start)
    return PaceSchedule("", start, behind, ahead, measured)


def pace_of(
    *, status, start, deadline, milestones, targets, today, reported_percent=None, reported_period_end=None
) -> PaceInfo:
    """The class on `today` with its reason in words, and expected_now per target."""
    fixed = _fixed(status, deadline, start)
    expected: dict[int, Decimal | None] = {}
    if fixed == Pace.COMPLETED:
        return PaceInfo(fixed, "任务已完成", expected)
    if fixed == Pace.UNKNOWN:
        why = "没有带日期的时限" if deadline is None else "没有计划开始日期"
        return PaceInfo(fixed, f"{why}，无法计算序时进度", expected)
    expected = expected_values(targets=targets, start=start, day=today)
    if today < start:
        return PaceInfo(Pace.NOT_STARTED, f"计划 {start:%Y-%m-%d} 开始，尚未到开始时间", expected)
    ms = _measures(
        status=status, start=start, deadline=deadline, milestones=milestones, targets=targets,
        reported_percent=reported_percent, reported_period_end=reported_period_end,
    )  # fmt: skip
    behind, ahead, measured = _combine(ms, start)
    pace = PaceSchedule("", start, behind, ahead, measured).classify(today)
    if pace == Pace.BEHIND:
        parts = [m.describe(today) for m in ms if m.behind_on is not None and m.behind_on <= today]
        # a measure may only have pulled the date forward to the start (滞后 reported before the start)
        parts = parts or [m.describe(today) for m in ms if m.behind_on is not None]
    elif pace == Pace.AHEAD:
        parts = [m.describe(today) for m in ms if m.measured]
    elif pace == Pace.ON_PACE:
        parts = [m.describe(today) for m in ms if m.measured]
    else:
        parts = ["尚无填报的完成百分比或指标值"]
    return PaceInfo(pace, "；".join(dict.fromkeys(parts)), expected)


def expected_values(*, targets, start: dt.date, day: dt.date) -> dict[int, Decimal | None]:
    """{target id: the value expected on `day`} on each target's line (None without a baseline or a due date)."""
    lines = _target_lines(targets, start)
    out: dict[int, Decimal | None] = {}
    for t in targets:
        lb = lines.get(_key(t))
        out[_key(t)] = None if lb is None else _to_decimal(lb[0].at(max(day, start).toordinal()) * lb[0].sign)
    return out


def expected_percent(*, start: dt.date, deadline: dt.date, day: dt.date) -> Decimal:
    """The share of the time from start to deadline gone by `day`, in percent (0–100): 序时 for percents."""
    span = max(deadline.toordinal() - start.toordinal(), 1)
    share = min(max(Fraction(day.toordinal() - start.toordinal(), span), Fraction(0)), Fraction(1))
    return _to_decimal(share * 100)


def _to_decimal(x: Fraction) -> Decimal:
    return (Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal("0.01"))


# --- the task's fields ------------------------------------------------------------------------------------------

PACE_FIELDS = ("pace_fixed", "pace_start", "pace_behind_on", "pace_ahead_until", "pace_measured")


def schedule_fields(schedule: PaceSchedule) -> dict:
    return {
        "pace_fixed": schedule.fixed,
        "pace_start": schedule.start,
        "pace_behind_on": schedule.behind_on,
        "pace_ahead_until": None if schedule.ahead_until is None else min(schedule.ahead_until, FAR),
        "pace_measured": schedule.measured,
    }


def task_pace(task, *, today: dt.date) -> PaceInfo:
    """pace_of for a task with its milestones and targets (prefetched lists or managers)."""
    return pace_of(
        status=task.status,
        start=task.pace_start,
        deadline=task.deadline,
        milestones=task.related_rows("milestones"),
        targets=task.related_rows("targets"),
        reported_percent=task.reported_percent,
        reported_period_end=task.reported_period_end,
        today=today,
    )


def pace_q(pace: str, *, today: dt.date, prefix: str = "") -> Q:
    """SQL twin of PaceSchedule.classify over the stored pace_* fields of Task (or of `prefix`+Task)."""

    def q(**kw):
        return Q(**{prefix + k: v for k, v in kw.items()})

    # 已完成 follows the status itself, so a row whose dates were not refreshed yet still counts right there
    done = q(status=Progress.COMPLETED)
    fixed = ~q(pace_fixed="")
    started = q(pace_start__isnull=True) | q(pace_start__lte=today)
    behind = q(pace_behind_on__lte=today)
    not_behind = q(pace_behind_on__isnull=True) | q(pace_behind_on__gt=today)
    ahead = q(pace_ahead_until__gte=today)
    not_ahead = q(pace_ahead_until__isnull=True) | q(pace_ahead_until__lt=today)
    live = ~done & ~fixed & started
    match pace:
        case Pace.COMPLETED:
            return done
        case Pace.NOT_STARTED:
            return ~done & ~fixed & q(pace_start__gt=today)
        case Pace.BEHIND:
            return live & behind
        case Pace.AHEAD:
            return live & not_behind & ahead
        case Pace.ON_PACE:
            return live & not_behind & not_ahead & q(pace_measured=True)
        case Pace.UNKNOWN:
            return ~done & (fixed | (started & not_behind & not_ahead & q(pace_measured=False)))
    raise ValueError(pace)


def annotate_pace(queryset, *, today: dt.date):
    return queryset.annotate(
        pace=Case(
            *[When(pace_q(p, today=today), then=Value(p)) for p in Pace.ALL],
            default=Value(Pace.UNKNOWN),
            output_field=CharField(),
        )
    )
