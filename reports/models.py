"""Reporting periods, progress reports and their review, reminders and notifications."""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from departments.models import Unit
from tasks.models import Document, Progress, Target, Task


def default_due_date(year: int, quarter: int) -> dt.date:
    """The 20th of the quarter's last month, as the plans ask ("9月20日前报送当前季度…")."""
    return dt.date(year, quarter * 3, 20)


class Period(models.Model):
    year = models.PositiveSmallIntegerField("年度")
    quarter = models.PositiveSmallIntegerField(
        "季度", choices=[(q, f"第{'一二三四'[q - 1]}季度") for q in range(1, 5)]
    )
    due_date = models.DateField("报送截止日")
    is_open = models.BooleanField("开放填报", default=False)
    document = models.ForeignKey(
        Document,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="periods",
        verbose_name="依据文件",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "填报期"
        verbose_name_plural = "填报期"
        ordering = ["-year", "-quarter"]
        constraints = [models.UniqueConstraint(fields=["year", "quarter"], name="period_unique_quarter")]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        suffix = "（年度）" if self.quarter == 4 else ""
        return f"{self.year}年第{'一二三四'[self.quarter - 1]}季度{suffix}"

    @property
    def due_at(self) -> dt.datetime:
        """The moment after which a submission is late: the end of the due date in Asia/Shanghai."""
        tz = ZoneInfo(settings.TIME_ZONE)
        return dt.datetime.combine(self.due_date + dt.timedelta(days=1), dt.time.min, tzinfo=tz)

    @property
    def start_date(self) -> dt.date:
        return dt.date(self.year, self.quarter * 3 - 2, 1)

    @property
    def end_date(self) -> dt.date:
        nxt = dt.date(self.year + (self.quarter == 4), 1 if self.quarter == 4 else self.quarter * 3 + 1, 1)
        return nxt - dt.timedelta(days=1)


class ReportStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已提交"
    RETURNED = "returned", "已退回"
    ACCEPTED = "accepted", "已通过"


class Report(models.Model):
    """One unit's report on one task for one period."""

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="reports", verbose_name="任务")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="reports", verbose_name="单位")
    period = models.ForeignKey(
        Period, on_delete=models.PROTECT, related_name="reports", verbose_name="填报期"
    )
    status = models.CharField("状态", max_length=20, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    progress = models.CharField("进展", max_length=20, choices=Progress.choices, default=Progress.NOT_STARTED)
    percent = models.PositiveSmallIntegerField("完成百分比", null=True, blank=True)
    text = models.TextField("本期进展情况", blank=True)
    problems = models.TextField("存在问题", blank=True)
    next_steps = models.TextField("下步打算", blank=True)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    first_submitted_at = models.DateTimeField("首次提交时间", null=True, blank=True)
    is_late = models.BooleanField("逾期提交", default=False)
    return_reason = models.TextField("退回原因", blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField("版本", default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "进展报告"
        verbose_name_plural = "进展报告"
        ordering = ["period_id", "task_id", "unit_id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "unit", "period"], name="report_unique_task_unit_period")
        ]
        indexes = [
            models.Index(fields=["period", "unit", "status"]),
            models.Index(fields=["period", "task"]),
            # The trend's "tasks reported completed": a few percent of the reports, read without a full scan.
            models.Index(
                fields=["period", "task", "unit"],
                condition=models.Q(progress=Progress.COMPLETED, status__in=["submitted", "accepted"]),
                name="report_submitted_completed",
            ),
        ]

    def __str__(self):
        return f"{self.period} {self.unit} {self.task.path_key}"

    @property
    def is_locked(self) -> bool:
        return self.status == ReportStatus.ACCEPTED

    @property
    def is_submitted(self) -> bool:
        return self.status in (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED)


class ReportRevision(models.Model):
    """A snapshot taken at each submission, return, acceptance and reopen: earlier versions stay visible."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    action = models.CharField(max_length=20)  # submit / return / accept / reopen
    data = models.JSONField(default=dict)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["report_id", "number"]
        constraints = [models.UniqueConstraint(fields=["report", "number"], name="revision_unique_number")]

    def __str__(self):
        return f"{self.report_id} #{self.number} {self.action}"


class TargetValue(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="target_values")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="reported_values")
    value = models.DecimalField("实际值", max_digits=14, decimal_places=4)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["report", "target"], name="targetvalue_unique")]

    def __str__(self):
        return f"{self.report_id}: {self.target_id} = {self.value}"


def attachment_path(instance, filename):
    # Random names: the original name is kept in the row, never on disk.
    return f"attachments/{dt.date.today():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    original_name = models.CharField("文件名", max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "附件"
        verbose_name_plural = "附件"

    def __str__(self):
        return self.original_name


class Reminder(models.Model):
    """A reminder claimed before it is sent. The unique key makes every sweep, retry and second beat idempotent."""

    class Kind(models.TextChoices):
        PERIOD_BEFORE = "period_before", "报送临近"
        PERIOD_DUE = "period_due", "今日截止"
        PERIOD_OVERDUE = "period_overdue", "逾期未报"
        TASK_BEFORE = "task_before", "任务节点临近"
        TASK_OVERDUE = "task_overdue", "任务节点超期"
        RETURNED = "returned", "报告退回"
        MANUAL = "manual", "人工催报"
        NOTICE = "notice", "督办单"  # issued, sent back, closed
        NOTICE_DUE = "notice_due", "督办单催办"  # not signed / not replied by the date, escalating
        EXTENSION = "extension", "延期申请"  # decided

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    subject_key = models.CharField(max_length=60)  # "period:5", "task:12", "report:7:rev3", "manual:<uuid>"
    stage = models.CharField(max_length=40)  # "d7", "d0", "overdue1", "m2020-12-31:d30", …
    period = models.ForeignKey(
        Period, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    escalation = models.PositiveSmallIntegerField(default=0)  # 0 reporters, 1 + secretariat, 2 + leaders
    send_on = models.DateField()
    message = models.TextField()
    link = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "催报记录"
        verbose_name_plural = "催报记录"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "kind", "subject_key", "stage"], name="reminder_unique_claim"
            )
        ]

    def __str__(self):
        return f"{self.unit_id} {self.kind} {self.subject_key} {self.stage}"


class Delivery(models.Model):
    """One attempt-tracked send over one channel to one recipient: of a unit's reminder (to its group robot, its
    mailbox and its people) or of one person's digest."""

    class Channel(models.TextChoices):
        INBOX = "inbox", "站内信"
        EMAIL = "email", "邮件"
        WEBHOOK = "webhook", "群机器人"
        DINGTALK = "dingtalk", "个人钉钉机器人"

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENT = "sent", "已送达"
        FAILED = "failed", "失败"

    reminder = models.ForeignKey(
        Reminder, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    digest = models.ForeignKey(
        "Digest", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=20, choices=Channel.choices)
    recipient = models.CharField(max_length=300)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "发送记录"
        verbose_name_plural = "发送记录"
        constraints = [
            models.UniqueConstraint(
                fields=["reminder", "channel", "recipient"], name="delivery_unique_recipient"
            ),
            models.UniqueConstraint(
                fields=["digest", "channel", "recipient"], name="delivery_unique_digest_recipient"
            ),
            models.CheckConstraint(
                condition=models.Q(reminder__isnull=False, digest__isnull=True)
                | models.Q(reminder__isnull=True, digest__isnull=False),
                name="delivery_of_reminder_or_digest",
            ),
        ]

    def __str__(self):
        return f"{self.channel} → {self.recipient} ({self.status})"


class Notification(models.Model):
    """The in-app inbox."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    reminder = models.ForeignKey(Reminder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The digest that carried this item to the person's mailbox or robot (null: not pushed, or pushed at once).
    digest = models.ForeignKey(
        "Digest", null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    kind = models.CharField(max_length=20)
    message = models.TextField()
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "reminder"],
                condition=models.Q(reminder__isnull=False),
                name="notification_once",
            )
        ]

    def __str__(self):
        return f"{self.user_id} {self.kind}: {self.message[:40]}"

    @property
    def read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """How one person wants to be told: always in the inbox; by e-mail and/or a personal 钉钉 robot, either at
    once (one message per event) or as one digest per daily sweep. No row: the role's default (see
    reports.notify.preference_for)."""

    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", "即时发送"
        DIGEST = "digest", "每日汇总"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    mode = models.CharField("发送方式", max_length=20, choices=Mode.choices, default=Mode.DIGEST)
    by_email = models.BooleanField("邮件", default=True)
    dingtalk_webhook = models.URLField("个人钉钉机器人 Webhook", blank=True, max_length=500)
    dingtalk_secret = models.CharField("加签密钥", max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "通知设置"
        verbose_name_plural = "通知设置"

    def __str__(self):
        return f"{self.user} · {self.get_mode_display()}"


class Digest(models.Model):
    """One person's digest of one sweep, claimed by its unique (user, sweep_on) before anything is sent."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests")
    sweep_on = models.DateField()
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "通知汇总"
        verbose_name_plural = "通知汇总"
        ordering = ["-sweep_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "sweep_on"], name="digest_once_per_sweep")]

    def __str__(self):
        return f"{self.user} · {self.sweep_on}"


class SweepRun(models.Model):
    """A daily reminder sweep that ran (claimed by its day): a workday without a row was missed and is caught
    up at the next start."""

    day = models.DateField(unique=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    caught_up = models.BooleanField(default=False)  # run late, by the catch-up at start

    class Meta:
        verbose_name = "催报扫描"
        verbose_name_plural = "催报扫描"
        ordering = ["-day"]

    def __str__(self):
        return f"{self.day}"


class Notice(models.Model):
    """督办单: a numbered notice to one unit about lagging tasks, with a date by which it must reply."""

    class Status(models.TextChoices):
        ISSUED = "issued", "已下发"
        SIGNED = "signed", "已签收"
        REPLIED = "replied", "已答复"
        CLOSED = "closed", "已办结"

    year = models.PositiveSmallIntegerField("年度")
    seq = models.PositiveIntegerField("序号")
    number = models.CharField("编号", max_length=40, unique=True)  # 督办〔2026〕3号
    tasks = models.ManyToManyField(Task, related_name="notices", verbose_name="督办任务")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="notices", verbose_name="承办单位")
    text = models.TextField("督办事项")
    reply_by = models.DateField("答复期限")
    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.ISSUED)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="签发人",
    )
    issued_at = models.DateTimeField("下发时间")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="签收人",
    )  # fmt: skip
    signed_at = models.DateTimeField("签收时间", null=True, blank=True)
    reply = models.TextField("整改措施", blank=True)
    expected_date = models.DateField("预计完成时间", null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="答复人",
    )  # fmt: skip
    replied_at = models.DateTimeField("答复时间", null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="办结人",
    )  # fmt: skip
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    version = models.PositiveIntegerField("版本", default=1)

    class Meta:
        verbose_name = "督办单"
        verbose_name_plural = "督办单"
        ordering = ["-year", "-seq"]
        constraints = [models.UniqueConstraint(fields=["year", "seq"], name="notice_unique_number")]
        indexes = [models.Index(fields=["unit", "status"]), models.Index(fields=["status", "reply_by"])]

    def __str__(self):
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED


class NoticeEvent(models.Model):
    """The notice's history: issued, signed, replied, sent back (with the reason and the reply it refused), closed."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=20)  # issue / sign / reply / reopen / close
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    text = models.TextField(blank=True)  # the reply, or the reason for sending it back
    expected_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["notice_id", "at", "id"]

    def __str__(self):
        return f"{self.notice_id} {self.action} {self.at}"


class Derived:
    """A table rebuilt from the ledger (revision triggers, recomputation), not data: backups leave it out
    (departments.backup.derived_tables)."""

    DERIVED = True


class UnitRevision(Derived, models.Model):
    """A counter per unit, raised by database triggers (defined in reports.invalidation) whenever anything that goes
    into the unit's roll-up figures or its dashboard lines changes: its task assignments, those tasks' status, deadlines,
    titles, milestones and targets and their document's name, its reports, the unit itself. Triggers rather than
    services or signals, because the ledger is also written by COPY, bulk updates and raw SQL (Excel import, plan
    import, scale data), and a forgotten write path would leave a figure wrong.

    The row of unit 0 stands for the tasks no unit carries (yet): a task created, deleted or edited while it has
    no unit raises it. So every committed change of what the dashboard shows raises the sum of all the counters
    (`DashboardCache.fingerprint`).

    `task_rev` is raised with `rev` by every change except a report's: the part of the dashboard read from the
    tasks alone (lights, 序时进度 classes, the overdue and due-soon lists, targets at risk) stays valid while the
    sum of `task_rev` is unchanged, so a report saved in the quarter's rush recomputes only the units' figures.
    Its database default lets writers that raise `rev` only (reports.services) insert a row without naming it."""

    unit_id = models.IntegerField(primary_key=True)
    rev = models.BigIntegerField(default=1)
    task_rev = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        verbose_name = "单位数据版本"
        verbose_name_plural = "单位数据版本"

    def __str__(self):
        return f"unit {self.unit_id} rev {self.rev}"


class UnitFigures(Derived, models.Model):
    """One unit's roll-up figures for one period as computed on `as_of` from the data at revision `rev`.

    A cache, never a source: a row is used only while `as_of` is today and `rev` equals the unit's current stamp
    for the period, `UnitRevision.task_rev` × 2³² + `UnitPeriodRevision.rev` (reports.figures.FIGURES_STAMP: its
    tasks and its reports of that period); otherwise the figures are computed again (only for those units and
    periods) and the row replaced.
    The revision is read before the figures are computed, so a change committed in between can only make the row
    look stale, never make stale figures look current."""

    unit_id = models.IntegerField()
    period_id = models.IntegerField()
    as_of = models.DateField()
    rev = models.BigIntegerField()
    tasks = models.IntegerField(default=0)
    led = models.IntegerField(default=0)
    shared = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    overdue = models.IntegerField(default=0)
    due_soon = models.IntegerField(default=0)
    on_time = models.IntegerField(default=0)
    late = models.IntegerField(default=0)
    targets_total = models.IntegerField(default=0)
    targets_met = models.IntegerField(default=0)
    # 序时进度 (tasks.pace) of the carried tasks on `as_of`; 已完成 is `completed`.
    pace_ahead = models.IntegerField(default=0)
    pace_on_pace = models.IntegerField(default=0)
    pace_behind = models.IntegerField(default=0)
    pace_not_started = models.IntegerField(default=0)
    pace_unknown = models.IntegerField(default=0)

    PACE_FIGURES = ("pace_ahead", "pace_on_pace", "pace_behind", "pace_not_started", "pace_unknown")
    FIGURES = (
        "tasks", "led", "shared", "completed", "overdue", "due_soon", "on_time", "late", "targets_total",
        "targets_met", *PACE_FIGURES,
    )  # fmt: skip

    class Meta:
        verbose_name = "单位汇总缓存"
        verbose_name_plural = "单位汇总缓存"
        constraints = [models.UniqueConstraint(fields=["period_id", "unit_id"], name="unitfigures_unique")]

    def __str__(self):
        return f"unit {self.unit_id} period {self.period_id} as of {self.as_of} (rev {self.rev})"


class UnitPeriodRevision(Derived, models.Model):
    """A counter per unit and period, raised (reports.invalidation) by every change of that unit's reports in that
    period. A unit's figures of one period depend on the tasks it carries (`UnitRevision.task_rev`) and on its
    reports of that period only: `UnitFigures.rev` stamps both, so a report saved in this quarter leaves the unit's
    figures of the earlier quarters (the dashboard's comparison, the trend's eight) valid."""

    unit_id = models.BigIntegerField()
    period_id = models.BigIntegerField()
    rev = models.BigIntegerField(default=1)

    class Meta:
        verbose_name = "单位填报期数据版本"
        verbose_name_plural = "单位填报期数据版本"
        constraints = [
            models.UniqueConstraint(fields=["unit_id", "period_id"], name="unitperiodrevision_unique")
        ]

    def __str__(self):
        return f"单位 {self.unit_id} · 填报期 {self.period_id}: {self.rev}"


class PlanRevision(Derived, models.Model):
    """A counter per plan (document) and unit, raised by the same triggers as `UnitRevision.task_rev`
    (reports.invalidation) for every change of what the dashboard reads from a plan's tasks: the tasks, their
    milestones, targets and assignments, the plan's name, the names of their units. The sum over a plan's rows is
    that plan's fingerprint: the dashboard keeps each plan's part (counts, list heads) while it is unchanged, so a
    task changed recomputes one plan, not the ledger (reports.dashboard).

    Per plan and unit rather than per plan: every report that moves its task's reported percent raises these, and
    one row per plan would make every unit's report in a quarter wait for the others'. A task raises the row of its
    plan and its first unit, a unit whose `UnitRevision` row every writer of the task locks first anyway. Unit 0
    stands for tasks no unit carries, and for the plan itself (renamed)."""

    document_id = models.BigIntegerField()
    unit_id = models.BigIntegerField()
    rev = models.BigIntegerField(default=1)

    class Meta:
        verbose_name = "文件数据版本"
        verbose_name_plural = "文件数据版本"
        constraints = [models.UniqueConstraint(fields=["document_id", "unit_id"], name="planrevision_unique")]

    def __str__(self):
        return f"文件 {self.document_id} · 单位 {self.unit_id}: {self.rev}"


class DashboardCache(Derived, models.Model):
    """The leaders' dashboard (reports.dashboard.Dashboard) of one audience and period as computed on `as_of`.

    A cache, never a source: a row is used only while `as_of` is today and `fingerprint` equals the sum of every
    `UnitRevision.rev`, which each committed change of the tasks, milestones, targets, assignments, reports or
    units raises. The fingerprint is read before the dashboard is computed, so a change committed in between can
    only make the row look stale. Kept in the database rather than in a process cache so that it rolls back, and
    is restored, with the rows it was computed from."""

    scope = models.CharField(max_length=40)  # "all", or "unit:<id>" for a reporter's own unit
    period_id = models.IntegerField()
    limit = models.PositiveIntegerField()
    previous_id = models.IntegerField(null=True)
    as_of = models.DateField()
    fingerprint = models.BigIntegerField()
    # The sum of every `UnitRevision.task_rev` when the tasks' part of `data` was computed: while it is unchanged
    # only the units' part (ranking, on-time rates) is computed again (reports.dashboard.dashboard_overdue).
    task_fingerprint = models.BigIntegerField(default=0)
    # JSON as text, stored uncompressed (migration 0009: STORAGE EXTERNAL on PostgreSQL): the row is rewritten
    # after every report, and jsonb's parsing and compression of ~100 KB cost 2.8 ms a write against 1.1 ms.
    data = models.TextField()

    class Meta:
        verbose_name = "超期看板缓存"
        verbose_name_plural = "超期看板缓存"
        constraints = [
            models.UniqueConstraint(fields=["scope", "period_id", "limit"], name="dashboardcache_unique")
        ]

    def __str__(self):
        return f"{self.scope} · 填报期 {self.period_id} · {self.as_of}"


def bulletin_path(instance, filename):
    return f"bulletins/{instance.year}/{uuid.uuid4().hex}.docx"


class Bulletin(models.Model):
    """The quarterly 通报 of a period: a draft the secretariat edits (下一步工作要求, title, issuer, date), then
    issued once: numbered 第N期 within its year, the rendered Word file and the figures it shows stored, and never
    changed again (reports.bulletin.bulletin_issue refuses; the file is kept under a random name)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        ISSUED = "issued", "已印发"

    period = models.OneToOneField(
        Period, on_delete=models.PROTECT, related_name="bulletin", verbose_name="填报期"
    )
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField("标题", max_length=200)
    issuer = models.CharField("印发单位", max_length=200)
    issued_on = models.DateField("印发日期", null=True, blank=True)
    requirements = models.TextField("下一步工作要求", blank=True)
    year = models.PositiveSmallIntegerField(
        "年度", null=True, blank=True
    )  # 期号 counts within the year of issue
    number = models.PositiveIntegerField("期号", null=True, blank=True)
    figures = models.JSONField("数据快照", default=dict, blank=True, encoder=DjangoJSONEncoder)
    file = models.FileField("通报文件", upload_to=bulletin_path, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField("印发时间", null=True, blank=True)

    class Meta:
        verbose_name = "季度通报"
        verbose_name_plural = "季度通报"
        ordering = ["-year", "-number", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["year", "number"],
                condition=models.Q(number__isnull=False),
                name="bulletin_unique_number",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(number__isnull=False, year__isnull=False),
                name="bulletin_issued_has_number",
            ),
        ]

    def __str__(self):
        return self.number_label or f"{self.period} 通报（草稿）"

    @property
    def number_label(self) -> str:
        return f"{self.year}年第{self.number}期" if self.number else ""

    @property
    def is_issued(self) -> bool:
        return self.status == self.Status.ISSUED
