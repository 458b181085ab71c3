"""generate_scale_data --tasks N --units N --counties N --quarters N [--seed S]

Fills the database with a synthetic ledger of that size for benchmarks: plans (documents) with areas, tasks with
lead / responsible units, a share of tasks carried by every county, milestones and targets (some met, some not,
some overdue), one reporting period per quarter (the latest open) and reports across the quarters: mostly on
time, some late, some drafts or returned, some missing. Deterministic for a given --seed and --today.

Writes in batches (bulk_create; COPY for the reports on PostgreSQL): 20,000 tasks with about half a million
reports take a few minutes at most.
"""

import csv
import datetime as dt
import io
import random
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from departments.models import Unit, UnitKind
from departments.services import audit_log
from reports.models import Period, Report, ReportStatus, default_due_date
from tasks.models import Document, Milestone, Progress, Target, Task, TaskUnit, path_display, path_sort_key
from tasks.services import tasks_refresh_pace

DOC_PREFIX = "规模测试"
UNIT_PREFIX = "规模测试"
AREAS = "一二三四五六七八"
SECTIONS = ["(一)", "(二)", "(三)", "(四)", "(五)", "(六)"]
TASKS_PER_DOCUMENT = 1000
BATCH = 5000


def _quarters_back(today: dt.date, n: int) -> list[tuple[int, int]]:
    year, quarter = today.year, (today.month + 2) // 3
    out = []
    for _ in range(n):
        out.append((year, quarter))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return out[::-1]


class Command(BaseCommand):
    help = "生成指定规模的合成台账（任务、单位、县区、各季度报告），用于性能测试。"

    def add_arguments(self, parser):
        parser.add_argument("--tasks", type=int, required=True, help="任务数")
        parser.add_argument("--units", type=int, required=True, help="市直部门数")
        parser.add_argument("--counties", type=int, required=True, help="县(市、区)数")
        parser.add_argument("--quarters", type=int, required=True, help="填报季度数（截至今天所在季度）")
        parser.add_argument("--seed", type=int, default=2026, help="随机种子，相同种子生成相同数据")
        parser.add_argument(
            "--today", type=dt.date.fromisoformat, default=None, help="以哪一天为今天，YYYY-MM-DD"
        )
        parser.add_argument(
            "--county-share", type=float, default=0.05, help="涉及各县(市、区)的任务所占比例（默认 0.05）"
        )
        parser.add_argument(
            "--tasks-per-plan",
            type=int,
            default=TASKS_PER_DOCUMENT,
            help=f"每份文件（方案）的任务数（默认 {TASKS_PER_DOCUMENT}）",
        )
        parser.add_argument("--reset", action="store_true", help="先删除此前生成的合成数据")

    def handle(self, *args, **opts):
        for name in ("tasks", "units", "counties", "quarters", "tasks_per_plan"):
            if opts[name] < (0 if name == "counties" else 1):
                raise CommandError(f"--{name.replace('_', '-')} 应为正整数，收到 {opts[name]}。")
        if not 0 <= opts["county_share"] <= 1:
            raise CommandError("--county-share 应在 0 到 1 之间。")
        started = time.monotonic()
        if opts["reset"]:
            self._reset()
        elif Unit.objects.filter(name__startswith=UNIT_PREFIX).exists():
            raise CommandError("数据库中已有合成数据；如需重新生成，请加 --reset。")
        counts = self._generate(opts)
        summary = "，".join(f"{k} {v}" for k, v in counts.items())
        self.stdout.write(f"已生成：{summary}（用时 {time.monotonic() - started:.1f} 秒）")

    def _reset(self):
        with transaction.atomic():
            docs = Document.objects.filter(doc_number__startswith=DOC_PREFIX)
            Report.objects.filter(task__document__in=docs).delete()
            Task.objects.filter(document__in=docs).delete()
            docs.delete()
            Unit.objects.filter(name__startswith=UNIT_PREFIX, users__isnull=True).delete()

    @transaction.atomic
    def _generate(self, opts) -> dict:
        rng = random.Random(opts["seed"])
        today = opts["today"] or timezone.localdate()
        now = timezone.now()

        departments = Unit.objects.bulk_create(
            [
                Unit(name=f"{UNIT_PREFIX}市第{i:03d}局", short_name=f"测{i:03d}局", sort_order=i)
                for i in range(1, opts["units"] + 1)
            ]
        )
        counties = Unit.objects.bulk_create(
            [
                Unit(
                    name=f"{UNIT_PREFIX}第{i:02d}县政府",
                    short_name=f"测{i:02d}县",
                    kind=UnitKind.COUNTY,
                    sort_order=i,
                )
                for i in range(1, opts["counties"] + 1)
            ]
        )

        periods = []
        quarters = _quarters_back(today, opts["quarters"])
        Period.objects.filter(is_open=True).update(is_open=False)
        for year, quarter in quarters:
            p, _ = Period.objects.get_or_create(
                year=year, quarter=quarter, defaults={"due_date": default_due_date(year, quarter)}
            )
            periods.append(p)
        Period.objects.filter(pk=periods[-1].pk).update(is_open=True)
        first_day = periods[0].start_date

        per_plan = opts["tasks_per_plan"]
        n_docs = max(1, -(-opts["tasks"] // per_plan))
        documents = Document.objects.bulk_create(
            [
                Document(
                    doc_number=f"{DOC_PREFIX}〔{first_day.year}〕{i}号",
                    title=f"{DOC_PREFIX}市深化医改重点工作任务（第{i}批）",
                    issuer="规模测试市医改领导小组",
                    issued_on=first_day,
                )
                for i in range(1, n_docs + 1)
            ]
        )

        tasks, schedules = [], []
        for i in range(opts["tasks"]):
            doc = documents[i // per_plan]
            k = i % per_plan
            path = [
                AREAS[k % len(AREAS)],
                SECTIONS[(k // len(AREAS)) % len(SECTIONS)],
                str(k // (len(AREAS) * len(SECTIONS)) + 1),
            ]
            roll = rng.random()
            status = (
                Progress.COMPLETED
                if roll < 0.2
                else Progress.LAGGING
                if roll < 0.3
                else Progress.NOT_STARTED
                if roll < 0.4
                else Progress.IN_PROGRESS
            )
            # Deadlines from the first quarter to two years ahead: some past (overdue unless done), some soon.
            dates = sorted(
                first_day + dt.timedelta(days=rng.randint(0, (today - first_day).days + 730))
                for _ in range(rng.randint(1, 3))
            )
            milestones = [(d, rng.random() < 0.3 and d < today) for d in dates]
            target = None
            if rng.random() < 0.3:
                value = Decimal(rng.choice([60, 80, 90, 95]))
                latest = None if rng.random() < 0.2 else value + Decimal(rng.randint(-15, 10))
                target = Target(
                    indicator=f"指标{i % 50}",
                    op=rng.choice([">=", ">=", "<=", "~"]),
                    value=value,
                    unit="%",
                    due=dates[-1],
                    latest_value=latest,
                    latest_value_at=now if latest is not None else None,
                    # a baseline on most, so 序时进度 has a line to measure against
                    baseline=value - Decimal(rng.randint(5, 30)) if rng.random() < 0.7 else None,
                )
            open_dates = [d for d, done in milestones if not done]
            if target is not None and not target.is_met:
                open_dates.append(target.due)
            tasks.append(
                Task(
                    document=doc,
                    path=path,
                    path_key=path_display(path),
                    sort_key=path_sort_key(path),
                    title=f"合成任务{i + 1}：推进第{k + 1}项改革",
                    text="规模测试任务内容",
                    status=status,
                    open_due=min(open_dates) if open_dates else None,
                    deadline=dates[-1],
                    # the newest reported 完成百分比, as reports.services keeps it (序时进度)
                    reported_percent=rng.randint(0, 100) if rng.random() < 0.8 else None,
                    reported_period_end=periods[-2].end_date if len(periods) > 1 else None,
                )
            )
            schedules.append((milestones, target))
        Task.objects.bulk_create(tasks, batch_size=BATCH)

        milestone_rows, target_rows, task_units, obligations = [], [], [], []
        for task, (milestones, target) in zip(tasks, schedules, strict=True):
            for d, done in milestones:
                milestone_rows.append(
                    Milestone(task=task, date=d, text=f"{d.year}年{d.month}月底前", done=done)
                )
            if target is not None:
                target.task = task
                target_rows.append(target)
            lead = rng.choice(departments)
            others = [u for u in rng.sample(departments, min(len(departments), 3)) if u.pk != lead.pk][
                : rng.randint(0, 2)
            ]
            units = [(lead, TaskUnit.Role.LEAD)] + [(u, TaskUnit.Role.RESPONSIBLE) for u in others]
            if counties and rng.random() < opts["county_share"]:
                units += [(c, TaskUnit.Role.COUNTY) for c in counties]
            for pos, (u, role) in enumerate(units):
                task_units.append(TaskUnit(task=task, unit=u, role=role, position=pos))
                obligations.append((task.pk, u.pk, task.status))
        Milestone.objects.bulk_create(milestone_rows, batch_size=BATCH)
        Target.objects.bulk_create(target_rows, batch_size=BATCH)
        TaskUnit.objects.bulk_create(task_units, batch_size=BATCH)

        tasks_refresh_pace(task_ids=[t.pk for t in tasks])  # the stored 序时进度 dates
        n_reports = self._write_reports(
            rng=rng, periods=periods, obligations=obligations, today=today, now=now
        )
        counts = {
            "部门": len(departments),
            "县区": len(counties),
            "文件": len(documents),
            "任务": len(tasks),
            "任务单位": len(task_units),
            "填报期": len(periods),
            "报告": n_reports,
        }
        audit_log(
            action="generate_scale_data", object_type="ledger", message=f"生成合成台账：{counts}", changes={}
        )
        return counts

    def _write_reports(self, *, rng, periods, obligations, today, now) -> int:
        columns = [
            "task_id",
            "unit_id",
            "period_id",
            "status",
            "progress",
            "percent",
            "text",
            "problems",
            "next_steps",
            "submitted_at",
            "first_submitted_at",
            "is_late",
            "return_reason",
            "version",
            "created_at",
            "updated_at",
        ]
        total = 0
        for index, period in enumerate(periods):
            is_current = index == len(periods) - 1
            due_at = period.due_at
            rows = []
            for task_id, unit_id, task_status in obligations:
                roll = rng.random()
                if is_current and due_at > now:
                    # The open quarter: part of the units have filed already.
                    status = (
                        ReportStatus.SUBMITTED if roll < 0.4 else ReportStatus.DRAFT if roll < 0.55 else None
                    )
                    late = False
                else:
                    status = (
                        ReportStatus.ACCEPTED
                        if roll < 0.55
                        else ReportStatus.SUBMITTED
                        if roll < 0.8
                        else ReportStatus.RETURNED
                        if roll < 0.84
                        else ReportStatus.DRAFT
                        if roll < 0.88
                        else None
                    )
                    late = status in (ReportStatus.ACCEPTED, ReportStatus.SUBMITTED) and rng.random() < 0.2
                if status is None:
                    continue  # missing: no report at all
                filed = status in (ReportStatus.ACCEPTED, ReportStatus.SUBMITTED, ReportStatus.RETURNED)
                submitted_at = (
                    (due_at + dt.timedelta(days=rng.randint(1, 20)))
                    if late
                    else (due_at - dt.timedelta(days=rng.randint(1, 15)))
                )
                submitted_at = min(submitted_at, now)
                progress = (
                    Progress.COMPLETED
                    if task_status == Progress.COMPLETED and index >= len(periods) - 2
                    else Progress.IN_PROGRESS
                )
                rows.append(
                    (
                        task_id,
                        unit_id,
                        period.pk,
                        status,
                        progress,
                        rng.randint(0, 100),
                        "本季度按计划推进。",
                        "",
                        "",
                        submitted_at if filed else None,
                        submitted_at if filed else None,
                        late,
                        "材料不全" if status == ReportStatus.RETURNED else "",
                        1,
                        now,
                        now,
                    )
                )
            self._insert(Report, columns, rows)
            total += len(rows)
        return total

    def _insert(self, model, columns, rows):
        if not rows:
            return
        if connection.vendor == "postgresql":
            buf = io.StringIO()
            writer = csv.writer(buf)
            for r in rows:
                writer.writerow(
                    ["\\N" if v is None else ("t" if v is True else "f" if v is False else v) for v in r]
                )
            buf.seek(0)
            with connection.cursor() as cursor:
                cursor.cursor.copy_expert(
                    f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                    buf,
                )
            return
        objs = [model(**dict(zip(columns, r, strict=True))) for r in rows]
        model.objects.bulk_create(objs, batch_size=BATCH)
