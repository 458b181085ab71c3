"""How each person is told: preferences (channel, immediate or digest), the digest text, and 钉钉 robots.

- Everyone always gets the inbox. Beyond it, a person chooses e-mail and/or a personal 钉钉 robot, and whether
  those carry each message at once (即时) or one digest per daily sweep (每日汇总). Without a saved choice a
  reporter, who acts on each message, gets them at once; the secretariat and the leaders, who are copied on
  every late unit, get one digest.
- 钉钉 robots with 加签: the webhook URL gets `timestamp` (ms) and `sign` = urlencode(base64(HMAC-SHA256(key
  = secret, message = "timestamp\\nsecret"))), as DingTalk's robot security settings document. Messages to
  钉钉 are markdown (title + text); other robots (企业微信) keep the plain text message they always got.

Nothing here sends: reports.reminders sends deliveries, reports.digests builds and claims digests.
"""

import base64
import hashlib
import hmac
import time
from collections import defaultdict
from urllib.parse import quote_plus, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction

from departments.models import Role, User
from departments.services import ApplicationError, audit_log
from departments.validators import webhook_refusal

from .models import NotificationPreference, Reminder

Mode = NotificationPreference.Mode
Kind = Reminder.Kind

# --------------------------------------------------------------------------------------------------------------
# Preferences
# --------------------------------------------------------------------------------------------------------------


def default_mode(role: str) -> str:
    return Mode.IMMEDIATE if role == Role.REPORTER else Mode.DIGEST


def preference_for(user) -> NotificationPreference:
    """The person's saved choice, or the role's default (unsaved)."""
    pref = NotificationPreference.objects.filter(user=user).first()
    if pref is None:
        pref = NotificationPreference(user=user, mode=default_mode(user.role), by_email=True)
    return pref


def preferences_for(users: list[dict]) -> dict[int, NotificationPreference]:
    """{user id: preference} for rows carrying `id` and `role`, in one query."""
    saved = {
        p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=[u["id"] for u in users])
    }
    return {
        u["id"]: saved.get(u["id"]) or NotificationPreference(user_id=u["id"], mode=default_mode(u["role"]))
        for u in users
    }


def _mask(secret: str) -> str:
    return f"{secret[:5]}…（已设置）" if secret else ""


@transaction.atomic
def preference_update(
    *, user, mode, by_email: bool, email=None, dingtalk_webhook="", dingtalk_secret="", request=None
) -> NotificationPreference:
    """Save a person's own choice. A blank secret keeps the one saved for the same robot."""
    if mode not in Mode.values:
        raise ApplicationError(f"发送方式“{mode}”无效，可选：即时发送、每日汇总。", field="mode")
    email = (email or "").strip() if email is not None else user.email
    if email:
        try:
            EmailValidator(message="")(email)
        except ValidationError:
            raise ApplicationError(f"邮箱“{email}”格式不正确。", field="email") from None
    if by_email and not email:
        raise ApplicationError("选择了邮件通知，请填写邮箱。", field="email")
    webhook = (dingtalk_webhook or "").strip()
    secret = (dingtalk_secret or "").strip()
    if webhook:
        if len(webhook) > 500:
            raise ApplicationError("钉钉机器人 Webhook 不能超过 500 个字符。", field="dingtalk_webhook")
        try:
            URLValidator(schemes=["http", "https"], message="")(webhook)
        except ValidationError:
            raise ApplicationError(
                "钉钉机器人 Webhook 应为 https:// 开头的完整地址。", field="dingtalk_webhook"
            ) from None
        refusal = webhook_refusal(
            webhook
        )  # the same allow-list as the units' robots: no calls to internal hosts
        if refusal:
            raise ApplicationError(refusal, field="dingtalk_webhook")
    if secret and not webhook:
        raise ApplicationError("填写了加签密钥，请同时填写钉钉机器人 Webhook。", field="dingtalk_webhook")
    if secret and (not secret.startswith("SEC") or len(secret) > 200 or any(c.isspace() for c in secret)):
        raise ApplicationError(
            "加签密钥应为钉钉机器人安全设置中“加签”下以 SEC 开头的字符串。", field="dingtalk_secret"
        )
    pref = NotificationPreference.objects.select_for_update().filter(user=user).first()
    before = {}
    if pref is None:
        pref = NotificationPreference(user=user)
    else:
        before = {"mode": pref.get_mode_display(), "by_email": pref.by_email, "dingtalk_webhook": pref.dingtalk_webhook,
                  "dingtalk_secret": _mask(pref.dingtalk_secret)}  # fmt: skip
        if not secret and webhook == pref.dingtalk_webhook:
            secret = pref.dingtalk_secret
    pref.mode, pref.by_email, pref.dingtalk_webhook, pref.dingtalk_secret = (
        mode,
        bool(by_email),
        webhook,
        secret,
    )
    pref.full_clean()
    pref.save()
    changes = {}
    if email != user.email:
        changes["email"] = [user.email, email]
        User.objects.filter(pk=user.pk).update(email=email)
        user.email = email
    after = {"mode": pref.get_mode_display(), "by_email": pref.by_email, "dingtalk_webhook": pref.dingtalk_webhook,
             "dingtalk_secret": _mask(pref.dingtalk_secret)}  # fmt: skip
    changes.update({k: [before.get(k), v] for k, v in after.items() if before.get(k) != v})
    if changes:
        audit_log(actor=user, request=request, action="notification_preferences", obj=user, changes=changes)
    return pref


# --------------------------------------------------------------------------------------------------------------
# The digest text
# --------------------------------------------------------------------------------------------------------------

SECTIONS = [
    ("已逾期", {Kind.PERIOD_OVERDUE, Kind.TASK_OVERDUE, Kind.NOTICE_DUE}),
    ("被退回", {Kind.RETURNED}),
    ("督办单", {Kind.NOTICE}),
    ("延期申请", {Kind.EXTENSION}),
    ("即将到期", {Kind.PERIOD_BEFORE, Kind.PERIOD_DUE, Kind.TASK_BEFORE}),
    ("催报", {Kind.MANUAL}),
]


def label_items(items, *, own_unit_id: int | None) -> list:
    """Give each item its digest line: a unit's reminder says "贵单位…", so a person outside that unit (the
    secretariat, a leader) reads the unit's name in front of it."""
    for item in items:
        reminder = getattr(item, "reminder", None) if item.reminder_id else None
        unit = reminder.unit if reminder is not None else None
        item.line = (
            f"{unit.display_name}：{item.message}"
            if unit is not None and unit.pk != own_unit_id
            else item.message
        )
    return items


def digest_sections(items) -> list[tuple[str, list]]:
    """Items (objects with .kind and .line, see label_items) grouped under the headings a reader scans first."""
    grouped = defaultdict(list)
    for item in items:
        title = next((t for t, kinds in SECTIONS if item.kind in kinds), "其他")
        grouped[title].append(item)
    order = [t for t, _ in SECTIONS] + ["其他"]
    return [(t, grouped[t]) for t in order if grouped.get(t)]


def digest_text(*, items, day) -> str:
    lines = [f"医改台账 {day:%Y-%m-%d} 消息汇总：共 {len(items)} 条。"]
    for title, rows in digest_sections(items):
        lines.append(f"【{title}】{len(rows)} 条")
        lines += [f"{i}. {row.line}" for i, row in enumerate(rows, 1)]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------
# 钉钉 robots
# --------------------------------------------------------------------------------------------------------------


def is_dingtalk(url: str) -> bool:
    host = (urlsplit(url or "").hostname or "").lower()
    return host == "dingtalk.com" or host.endswith(".dingtalk.com")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The `sign` parameter of a 加签 robot (already urlencoded)."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, digestmod=hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def signed_url(url: str, secret: str, *, timestamp_ms: int | None = None) -> str:
    """The webhook URL with `timestamp` and `sign` appended when a secret is set. DingTalk refuses a timestamp
    more than an hour from its clock, so it is taken at send time (never from a sweep's `now`)."""
    if not secret:
        return url
    ts = timestamp_ms if timestamp_ms is not None else int(round(time.time() * 1000))
    return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"


def _md(text: str) -> str:
    # DingTalk markdown: a line starting with #, - or a number would change meaning; keep messages literal.
    return text.replace("\r", "").replace("\n", "  \n")


def markdown_payload(*, title: str, heading: str, lines: list[str], link: str = "") -> dict:
    body = [f"#### {heading}", ""]
    body += [f"- {_md(line)}" for line in lines if line.strip()]
    if link:
        body += ["", f"[打开医改台账]({link})"]
    return {"msgtype": "markdown", "markdown": {"title": title[:64], "text": "\n".join(body)}}


def digest_markdown(*, items, day, link: str = "") -> dict:
    body = [f"#### 医改台账 {day:%Y-%m-%d} 消息汇总（{len(items)} 条）", ""]
    for title, rows in digest_sections(items):
        body.append(f"**{title}**（{len(rows)} 条）")
        body.append("")
        body += [f"{i}. {_md(row.line)}" for i, row in enumerate(rows, 1)]
        body.append("")
    if link:
        body.append(f"[打开医改台账]({link})")
    return {
        "msgtype": "markdown",
        "markdown": {"title": f"医改台账消息汇总 {day:%m-%d}", "text": "\n".join(body)},
    }
