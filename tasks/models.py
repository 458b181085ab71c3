"""Policy documents and their tasks: units, milestones (deadlines), numeric targets."""

import datetime as dt
import functools
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Abs, Coalesce
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual

from departments.models import Unit

CHINESE_DIGITS = "零一二三四五六七八九十"


def _chinese_number(text: str) -> int | None:
    """一 -> 1, 十二 -> 12, 二十三 -> 23; None if not a Chinese numeral."""
    if not text or any(c not in CHINESE_DIGITS + "百" for c in text):
        return None
    if text == "十":
        return 10
    total, current = 0, 0
    for c in text:
        if c == "十":
            total += (current or 1) * 10
            current = 0
        elif c == "百":
            total += (current or 1) * 100
            current = 0
        else:
            current = CHINESE_DIGITS.index(c)
    return total + current


def path_segment_number(segment: str) -> int:
    core = segment.strip("()（）.、．")
    if core.isdigit():
        return int(core)
    return _chinese_number(core) or 0


def path_sort_key(path: list[str]) -> str:
    """A string that sorts tasks in plan order: 二.(一).10 after 二.(一).9."""
    return ".".join(f"{path_segment_number(s):04d}" for s in path)


def path_display(path: list[str]) -> str:
    return ".".join(path)


def path_numbering(path: list[str]) -> str:
    """The last segment as the plan writes it: 一、 (一) 1. (1)."""
    if not path:
        return ""
    last = path[-1]
    if last.startswith("("):
        return last
    if last.isdigit():
        return f"{last}."
    return f"{last}、"


class Document(models.Model):
    doc_number = models.CharField("文号", max_length=100, unique=True, null=True, blank=True)
    title = models.CharField("标题", max_length=300)
    short_title = models.CharField("简称", max_length=200, blank=True)
    issuer = models.CharField("发文机关", max_length=200, blank=True)
    issued_on = models.DateField("发文日期", null=True, blank=True)
    reporting_dates = models.JSONField("报送时间", default=list, blank=True)  # [{text, month, day}]
    source_text = models.TextField("原文", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "政策文件"
        verbose_name_plural = "政策文件"
        ordering = ["-issued_on", "id"]

    def __str__(self):
        return self.doc_number or self.title


class Progress(models.TextChoices):
    NOT_STARTED = "not_started", "未启动"
    IN_PROGRESS = "in_progress", "推进中"
    COMPLETED = "completed", "已完成"
    LAGGING = "lagging", "滞后"


class Light(models.TextChoices):
    OVERDUE = "overdue", "超期"
    DUE_SOON = "due_soon", "临期"
    NORMAL = "normal", "正常"
    DONE = "done", "已完成"


class TaskQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)


class Task(models.Model):
    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="tasks", verbose_name="文件"
    )
    path = models.JSONField("编号路径", default=list)  # ["二", "(一)", "1"]
    path_key = models.CharField("编号", max_length=100)  # "二.(一).1", unique in a document
    sort_key = models.CharField(max_length=100, db_index=True, editable=False)
    section = models.JSONField("所属章节", default=list, blank=True)  # headings above the task
    title = models.CharField("任务名称", max_length=500)
    text = models.TextField("任务内容", blank=True)
    note = models.TextField("备注", blank=True)
    status = models.CharField(
        "进展状态", max_length=20, choices=Progress.choices, default=Progress.NOT_STARTED
    )
    # Denormalised schedule, refreshed by tasks.services.task_refresh_schedule whenever milestones,
    # targets, values or the status change, so lights can be filtered and sorted in SQL at province scale.
    open_due = models.DateField("最早未完成节点", null=True, blank=True, db_index=True)
    deadline = models.DateField("最终时限", null=True, blank=True, db_index=True)
    # 序时进度 (tasks.pace): the rule reduced to a few dates, refreshed with the schedule above (and by the reports
    # services when a percent or value is reported), so the dashboard counts the classes of every task in SQL.
    pace_fixed = models.CharField("序时进度（固定）", max_length=20, blank=True, default="")
    pace_start = models.DateField("序时起点", null=True, blank=True)
    pace_behind_on = models.DateField("欠进度起始日", null=True, blank=True)
    pace_ahead_until = models.DateField("超进度截止日", null=True, blank=True)
    pace_measured = models.BooleanField("有进度数据", default=False)
    # The newest submitted report's 完成百分比 (lead unit first) and the last day of its period.
    reported_percent = models.PositiveSmallIntegerField("最新填报完成百分比", null=True, blank=True)
    reported_period_end = models.DateField("最新填报所属期末", null=True, blank=True)
    version = models.PositiveIntegerField("版本", default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField("删除时间", null=True, blank=True, db_index=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = "任务"
        verbose_name_plural = "任务"
        ordering = ["document_id", "sort_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "path_key"],
                condition=models.Q(deleted_at__isnull=True),
                name="task_unique_path_in_document",
            )
        ]

    def __str__(self):
        return f"{self.path_key} {self.title}"

    def save(self, *args, **kwargs):
        self.path_key = path_display(self.path)
        self.sort_key = path_sort_key(self.path)
        super().save(*args, **kwargs)

    def clean(self):
        if not (self.title or "").strip():
            raise ValidationError({"title": "任务名称不能为空。"})
        if (
            not isinstance(self.path, list)
            or not self.path
            or not all(isinstance(s, str) and s for s in self.path)
        ):
            raise ValidationError({"path": "编号路径应为非空的编号列表，例如 二.(一).1。"})

    @property
    def numbering(self) -> str:
        return path_numbering(self.path)

    @property
    def is_completed(self) -> bool:
        return self.status == Progress.COMPLETED

    def related_rows(self, name: str):
        """The rows of a relation (task_units, milestones, targets) as tasks.selectors prefetched them: the plain
        list `<name>_list` of task_rows_prefetch, else the related manager (its prefetch cache, or a query)."""
        rows = getattr(self, f"{name}_list", None)
        return getattr(self, name).all() if rows is None else rows

    def _units(self, role):
        rows = self.related_rows("task_units")
        return [tu.unit for tu in sorted(rows, key=lambda tu: tu.position) if tu.role == role]

    @property
    def lead_units(self):  # 牵头单位
        return self._units(TaskUnit.Role.LEAD)

    @property
    def responsible_units(self):  # 责任单位
        return self._units(TaskUnit.Role.RESPONSIBLE)

    @property
    def counties(self):  # 各县(市、区)政府
        return self._units(TaskUnit.Role.COUNTY)

    @property
    def counties_involved(self) -> bool:
        return bool(self.counties)


class TaskUnit(models.Model):
    """A unit's part in a task. One table for all three roles keeps roll-ups to a single join."""

    class Role(models.TextChoices):
        LEAD = "lead", "牵头单位"
        RESPONSIBLE = "responsible", "责任单位"
        COUNTY = "county", "县(市、区)"

    # No separate FK indexes: taskunit_unique (task, unit, role) leads with task, Index(unit, role) with unit.
    # No FOREIGN KEY constraints either: the Excel import writes ~5 rows per task, and the deferred foreign-key
    # checks (one index probe per row and key at commit) were a fifth of a 10,000-task import. Migration
    # 0003_excel_taskunit_ref_triggers enforces the same references with statement-level triggers (one set-based
    # check per INSERT/COPY, locking the referenced rows as the FK triggers do); CASCADE and PROTECT stay as the
    # ORM applies them in either case. Measured again for issue 14 (bench/bench_excel.py, 10,000 tasks, PostgreSQL):
    # ordinary foreign keys doubled the database's CPU for the import (1.7 s against 0.9 s) and cut it from about
    # 5,100-5,600 to 3,400 rows per CPU-second, so the triggers stay.
    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="task_units", db_index=False, db_constraint=False
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="task_units", db_index=False, db_constraint=False
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "任务单位"
        verbose_name_plural = "任务单位"
        constraints = [models.UniqueConstraint(fields=["task", "unit", "role"], name="taskunit_unique")]
        indexes = [models.Index(fields=["unit", "role"])]

    def __str__(self):
        return f"{self.task_id} {self.get_role_display()} {self.unit}"


class Milestone(models.Model):
    """One deadline of a task (a task often has several). `date` is null for relative limits (15个工作日内)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="milestones")
    date = models.DateField("时限", null=True, blank=True)
    text = models.CharField("时限原文", max_length=200, blank=True)
    context = models.TextField("说明", blank=True)
    done = models.BooleanField("已完成", default=False)
    # The date the plan set, kept when an approved 延期申请 moved `date`; null while the milestone was never moved.
    original_date = models.DateField("原定时限", null=True, blank=True)

    class Meta:
        verbose_name = "时间节点"
        verbose_name_plural = "时间节点"
        ordering = [models.F("date").asc(nulls_last=True), "id"]

    def __str__(self):
        return f"{self.date or self.text}"

    @property
    def extension_note(self) -> str:
        """ "原定 2021-06-30，经批准延期至 2021-09-30" for a moved milestone, else ""."""
        if self.original_date is None or self.date is None or self.original_date == self.date:
            return ""
        return f"原定 {self.original_date:%Y-%m-%d}，经批准延期至 {self.date:%Y-%m-%d}"


@functools.lru_cache(maxsize=8)
def target_met_q(prefix: str = "") -> Q:
    """SQL twin of Target.is_met_by(latest_value); a target without a value is not met. Cached per prefix: a Q is
    never changed by the querysets it is given to (combining makes a new one), and it is built on every page."""
    f = lambda name: F(prefix + name)  # noqa: E731
    latest, value = f("latest_value"), f("value")
    op = prefix + "op"
    return Q(**{prefix + "latest_value__isnull": False}) & (
        (Q(**{op: ">="}) & Q(GreaterThanOrEqual(latest, value)))
        | (Q(**{op: ">"}) & Q(GreaterThan(latest, value)))
        | (Q(**{op: "<="}) & Q(LessThanOrEqual(latest, value)))
        | (Q(**{op: "<"}) & Q(LessThan(latest, value)))
        | (Q(**{op: "="}) & Q(Exact(latest, value)))
        | (Q(**{op: "~"}) & Q(LessThanOrEqual(Abs(latest - value), Abs(value) * Value(Decimal("0.05")))))
        | (
            Q(**{op: "between"})
            & Q(GreaterThanOrEqual(latest, value))
            & Q(LessThanOrEqual(latest, Coalesce(f("value_high"), value)))
        )
        | (
            Q(**{op: "+="})
            & Q(GreaterThanOrEqual(latest - Coalesce(f("baseline"), Value(Decimal(0))), value))
        )
    )


class Target(models.Model):
    class Op(models.TextChoices):
        GE = ">=", "≥"
        LE = "<=", "≤"
        EQ = "=", "="
        GT = ">", ">"
        LT = "<", "<"
        APPROX = "~", "约"
        BETWEEN = "between", "介于"
        INCREASE = "+=", "增加"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="targets")
    text = models.TextField("指标原文", blank=True)
    indicator = models.CharField("指标", max_length=200)
    op = models.CharField("比较", max_length=10, choices=Op.choices)
    value = models.DecimalField("目标值", max_digits=14, decimal_places=4)
    value_high = models.DecimalField("目标值上限", max_digits=14, decimal_places=4, null=True, blank=True)
    unit = models.CharField("单位", max_length=30, blank=True)
    due = models.DateField("到期日", null=True, blank=True)
    baseline = models.DecimalField("基线值", max_digits=14, decimal_places=4, null=True, blank=True)
    # Latest reported actual value, kept here by the reporting services so lights and "targets at risk"
    # need no scan of the report history.
    latest_value = models.DecimalField("最新值", max_digits=14, decimal_places=4, null=True, blank=True)
    latest_value_at = models.DateTimeField("最新值时间", null=True, blank=True)
    latest_period_end = models.DateField("最新值所属期末", null=True, blank=True)  # "（2026年第三季度）"

    class Meta:
        verbose_name = "量化指标"
        verbose_name_plural = "量化指标"
        ordering = ["id"]
        # The targets at risk (dated, not met: the dashboard's list and counts, per plan after a task changed).
        # Without it every at-risk query evaluated the met condition on every target of the ledger (a
        # sequential scan: 2 ms of a 1,000-task plan's recount at 20,000 tasks); the planner uses it wherever a
        # query carries the same condition, which target_met_q guarantees.
        indexes = [
            models.Index(
                fields=["task"], condition=Q(due__isnull=False) & ~target_met_q(), name="tasks_target_at_risk"
            )
        ]

    def __str__(self):
        return self.label

    def clean(self):
        if self.op == self.Op.BETWEEN:
            if self.value_high is None:
                raise ValidationError({"value_high": "“介于”需要填写上限值。"})
            if self.value_high < self.value:
                raise ValidationError({"value_high": "上限值不能小于下限值。"})

    @property
    def value_display(self) -> str:
        def fmt(v: Decimal) -> str:
            return format(v.normalize(), "f") if v is not None else ""

        if self.op == self.Op.BETWEEN:
            return f"{fmt(self.value)}–{fmt(self.value_high)}{self.unit}"
        return f"{fmt(self.value)}{self.unit}"

    @property
    def label(self) -> str:
        sign = {">=": "≥", "<=": "≤", "=": "=", ">": ">", "<": "<", "~": "约", "between": "", "+=": "增加"}[
            self.op
        ]
        return f"{self.indicator}{sign}{self.value_display}"

    def is_met_by(self, actual: Decimal | None) -> bool | None:
        """Whether an actual value meets the target; None when there is no value to judge."""
        if actual is None:
            return None
        v = self.value
        match self.op:
            case ">=":
                return actual >= v
            case ">":
                return actual > v
            case "<=":
                return actual <= v
            case "<":
                return actual < v
            case "=":
                return actual == v
            case "~":
                return abs(actual - v) <= abs(v) * Decimal("0.05")
            case "between":
                return v <= actual <= (self.value_high if self.value_high is not None else v)
            case "+=":
                base = self.baseline if self.baseline is not None else Decimal(0)
                return actual - base >= v
        return None

    @property
    def is_met(self) -> bool | None:
        return self.is_met_by(self.latest_value)


class ExtensionRequest(models.Model):
    """延期申请: a lead unit asks to move one milestone of its task; the secretariat approves or rejects."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "已批准"
        REJECTED = "rejected", "未批准"

    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="extension_requests", verbose_name="任务"
    )
    # SET_NULL: a task edit rewrites its milestones; the request keeps the date it asked about (milestone_date).
    milestone = models.ForeignKey(
        Milestone, null=True, blank=True, on_delete=models.SET_NULL, related_name="extension_requests",
        verbose_name="时间节点",
    )  # fmt: skip
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="extension_requests", verbose_name="申请单位"
    )
    milestone_date = models.DateField("原时限")
    new_date = models.DateField("申请延期至")
    reason = models.TextField("申请理由")
    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.PENDING)
    is_late = models.BooleanField("逾期申请", default=False)  # asked after milestone_date had passed
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="申请人",
    )
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="审批人",
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_reason = models.TextField("审批意见", blank=True)

    class Meta:
        verbose_name = "延期申请"
        verbose_name_plural = "延期申请"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "milestone_date"],
                condition=models.Q(status="pending"),
                name="extension_one_pending_per_milestone",
                violation_error_message="该时间节点已有一份待审批的延期申请。",
            ),
            models.CheckConstraint(
                condition=models.Q(new_date__gt=models.F("milestone_date")),
                name="extension_new_date_after_old",
                violation_error_message="申请延期至的日期必须晚于原时限。",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"]), models.Index(fields=["unit", "status"])]

    def __str__(self):
        return f"{self.task.path_key} {self.milestone_date:%Y-%m-%d}→{self.new_date:%Y-%m-%d}"

    def clean(self):
        if self.milestone_date and self.new_date and self.new_date <= self.milestone_date:
            raise ValidationError({"new_date": "申请延期至的日期必须晚于原时限。"})


def today_local() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()
