"""Units (departments, county governments, the secretariat), their aliases, accounts with roles, and the audit trail."""

import re
import unicodedata

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models

from .validators import validate_webhook_url


class UnitKind(models.TextChoices):
    DEPARTMENT = "department", "市直部门"
    COUNTY = "county", "县(市、区)政府"
    SECRETARIAT = "secretariat", "医改办"


def normalize_unit_name(name: str) -> str:
    """The form under which names and aliases are compared: NFKC (full-width -> half-width), no spaces, 〔〕 as ()."""
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("〔", "(").replace("〕", ")").replace("[", "(").replace("]", ")")
    return re.sub(r"\s+", "", name)


class Unit(models.Model):
    name = models.CharField("规范名称", max_length=100, unique=True)
    short_name = models.CharField("简称", max_length=50, blank=True)
    kind = models.CharField("类型", max_length=20, choices=UnitKind.choices, default=UnitKind.DEPARTMENT)
    email = models.EmailField("联系邮箱", blank=True)
    webhook_url = models.URLField(
        "群机器人 Webhook",
        blank=True,
        help_text="企业微信或钉钉群机器人地址，可留空",
        validators=[validate_webhook_url],
    )
    webhook_secret = models.CharField(
        "钉钉加签密钥",
        max_length=200,
        blank=True,
        help_text="钉钉机器人“加签”安全设置的密钥（SEC 开头），不加签可留空",
    )
    sort_order = models.PositiveIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)
    deleted_at = models.DateTimeField("删除时间", null=True, blank=True)

    class Meta:
        verbose_name = "单位"
        verbose_name_plural = "单位"
        ordering = ["kind", "sort_order", "name"]

    def __str__(self):
        return self.name

    def clean(self):
        secret = (self.webhook_secret or "").strip()
        if secret and not self.webhook_url:
            raise ValidationError({"webhook_secret": "填写了加签密钥，请同时填写群机器人 Webhook。"})
        if secret and (not secret.startswith("SEC") or any(c.isspace() for c in secret)):
            raise ValidationError(
                {"webhook_secret": "加签密钥应为钉钉机器人安全设置中“加签”下以 SEC 开头的字符串。"}
            )

    @property
    def display_name(self) -> str:
        return self.short_name or self.name


class UnitAlias(models.Model):
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="aliases", verbose_name="单位")
    alias = models.CharField("别名", max_length=100)
    normalized = models.CharField(max_length=100, unique=True, editable=False)

    class Meta:
        verbose_name = "单位别名"
        verbose_name_plural = "单位别名"
        ordering = ["alias"]

    def __str__(self):
        return f"{self.alias} → {self.unit.name}"

    def save(self, *args, **kwargs):
        self.normalized = normalize_unit_name(self.alias)
        super().save(*args, **kwargs)


class Role(models.TextChoices):
    SECRETARIAT = "secretariat", "医改办工作人员"
    REPORTER = "reporter", "填报员"
    LEADER = "leader", "领导"
    ADMIN = "admin", "系统管理员"
    AUDITOR = "auditor", "安全审计员"


class User(AbstractUser):
    role = models.CharField("角色", max_length=20, choices=Role.choices, default=Role.REPORTER)
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="users", verbose_name="所属单位"
    )
    display_name = models.CharField("姓名", max_length=50, blank=True)
    # Set when someone other than the account's owner sets its password (an administrator's reset): the owner must
    # choose a new one at the next sign-in, so nobody keeps working under a password another person knows.
    must_change_password = models.BooleanField("下次登录须修改密码", default=False)
    password_changed_at = models.DateTimeField("密码修改时间", null=True, blank=True)

    class Meta:
        verbose_name = "账号"
        verbose_name_plural = "账号"
        constraints = [
            # 三员分立: the auditor can never also administer the system (staff / superuser).
            models.CheckConstraint(
                condition=~models.Q(role="auditor", is_superuser=True)
                & ~models.Q(role="auditor", is_staff=True),
                name="user_auditor_is_not_administrator",
                violation_error_message="安全审计员不能同时是系统管理员（三员分立）。",
            ),
        ]

    def clean(self):
        super().clean()
        if self.role == Role.AUDITOR and (self.is_superuser or self.is_staff):
            raise ValidationError({"role": "安全审计员不能同时是系统管理员（三员分立）。"})

    def __str__(self):
        return self.display_name or self.username


class AuditEntryQuerySet(models.QuerySet):
    """Bulk writes that would rewrite history are refused (PostgreSQL also refuses them with a trigger)."""

    def update(self, **kwargs):
        raise PermissionError("审计记录不可修改。")

    def delete(self):
        raise PermissionError("审计记录不可删除。")


class AuditEntry(models.Model):
    """Append-only record of who changed what. The application never updates or deletes these rows."""

    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="操作人",
    )
    actor_name = models.CharField("操作人", max_length=150, blank=True)
    ip = models.GenericIPAddressField("来源地址", null=True, blank=True)
    # Indexed through Meta.indexes only: one btree each instead of a plain and a LIKE index per column (each index
    # costs every insert, and the Excel import writes one entry per task).
    action = models.CharField("操作", max_length=40)
    object_type = models.CharField("对象类型", max_length=40, blank=True)
    object_id = models.CharField("对象编号", max_length=40, blank=True)
    object_repr = models.CharField("对象", max_length=300, blank=True)
    changes = models.JSONField("变更", default=dict, blank=True)  # {field: [old, new]}
    message = models.TextField("说明", blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "-at"]),  # task history, sign-in lockout
            models.Index(fields=["action", "-at"]),  # audit-log search by action, list of actions
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("审计记录不可修改。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("审计记录不可删除。")


class ApiToken(models.Model):
    """One API key per sign-in (or per named client). Only a SHA-256 digest is stored: a leaked database backup
    holds no usable key. A token ends like a session: after the idle limit, at the absolute limit, on logout,
    on a password change and when the account is disabled."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name="账号"
    )
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField("令牌前缀", max_length=8)  # shown in lists so the owner can tell keys apart
    name = models.CharField("名称", max_length=100, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    created_ip = models.GenericIPAddressField("创建来源", null=True, blank=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    expires_at = models.DateTimeField("最迟失效时间")
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    revoked_reason = models.CharField("吊销原因", max_length=40, blank=True)

    class Meta:
        verbose_name = "API 令牌"
        verbose_name_plural = "API 令牌"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self):
        return f"{self.user} {self.prefix}… {self.name}"
