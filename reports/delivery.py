"""Sending one delivery of a reminder or digest (e-mail, WeCom or DingTalk robot), exactly once: the row is locked,
sent and marked with a conditional update; a failure is recorded with its reason and retried by reports.jobs."""

import datetime as dt
import json
import logging
import smtplib
import socket
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from departments.validators import webhook_refusal

from . import notify
from .models import Delivery, Notification, Reminder

# the log lines keep the name operators know (they were written by reports.reminders)
logger = logging.getLogger("reports.reminders")

# --------------------------------------------------------------------------------------------------------------
# Sending one delivery
# --------------------------------------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A channel refused or failed; the message is the reason shown in the reminder log."""


def max_attempts() -> int:
    return int(getattr(settings, "REMINDER_DELIVERY_MAX_ATTEMPTS", 5))


def _absolute(link: str) -> str:
    if not link or link.startswith("http"):
        return link
    return settings.SITE_URL.rstrip("/") + link


def _email_context(reminder: Reminder) -> dict:
    return {
        "unit": reminder.unit,
        "reminder": reminder,
        "message": reminder.message,
        "lines": reminder.message.splitlines(),
        "link": _absolute(reminder.link),
        "kind_label": reminder.get_kind_display(),
    }


def _send_email(delivery: Delivery) -> None:
    if delivery.digest_id:
        context = _digest_context(delivery.digest)
        names = ("emails/digest_subject.txt", "emails/digest_body.txt", "emails/digest_body.html")
    else:
        context = _email_context(delivery.reminder)
        names = ("emails/reminder_subject.txt", "emails/reminder_body.txt", "emails/reminder_body.html")
    subject = " ".join(render_to_string(names[0], context).split())
    text = render_to_string(names[1], context)
    html = render_to_string(names[2], context)
    sent = send_mail(
        subject,
        text,
        settings.DEFAULT_FROM_EMAIL,
        [delivery.recipient],
        html_message=html,
        fail_silently=False,
    )
    if sent != 1:
        raise DeliveryError("邮件服务器未接受该邮件")


def _digest_items(digest) -> list[Notification]:
    items = digest.items.select_related("reminder__unit").order_by("created_at", "id")
    return notify.label_items(list(items), own_unit_id=digest.user.unit_id)


def _digest_context(digest) -> dict:
    items = _digest_items(digest)
    return {
        "digest": digest,
        "user": digest.user,
        "sections": notify.digest_sections(items),
        "count": len(items),
        "message": digest.message,
        "link": _absolute(reverse("reports:inbox")),
    }


def webhook_payload(reminder: Reminder, *, markdown: bool = False) -> dict:
    """The unit robot's message: plain text, which 企业微信 and 钉钉 both accept, or markdown for 钉钉."""
    link = _absolute(reminder.link)
    if markdown:
        title = f"医改台账·{reminder.get_kind_display()}"
        return notify.markdown_payload(
            title=f"{title}：{reminder.unit.display_name}",
            heading=f"{title}｜{reminder.unit.display_name}",
            lines=reminder.message.splitlines(),
            link=link,
        )
    content = f"【医改台账·{reminder.get_kind_display()}】{reminder.unit.display_name}：\n{reminder.message}"
    if link:
        content += f"\n填报入口：{link}"
    return {"msgtype": "text", "text": {"content": content}}


def _robot_target(delivery: Delivery) -> tuple[str, str, dict]:
    """(URL, 加签 secret, payload) of a robot delivery: the unit's group robot, or a person's own 钉钉 robot."""
    if delivery.channel == Delivery.Channel.DINGTALK:
        user_id = int(delivery.recipient.split(":", 1)[1])
        pref = notify.NotificationPreference.objects.filter(user_id=user_id).first()
        if pref is None or not pref.dingtalk_webhook:
            raise DeliveryError("此人已不再设置个人钉钉机器人")
        if delivery.digest_id:
            digest = delivery.digest
            payload = notify.digest_markdown(
                items=_digest_items(digest), day=digest.sweep_on, link=_absolute(reverse("reports:inbox"))
            )
        else:
            payload = webhook_payload(delivery.reminder, markdown=True)
        return pref.dingtalk_webhook, pref.dingtalk_secret, payload
    unit = delivery.reminder.unit
    secret = unit.webhook_secret if unit.webhook_url == delivery.recipient else ""
    markdown = notify.is_dingtalk(delivery.recipient) or bool(secret)
    return delivery.recipient, secret, webhook_payload(delivery.reminder, markdown=markdown)


def _send_webhook(delivery: Delivery) -> None:
    url, secret, payload = _robot_target(delivery)
    refusal = webhook_refusal(url)  # checked again when sending: older rows, raw SQL edits
    if refusal:
        raise DeliveryError(refusal)
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        notify.signed_url(url, secret),
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    timeout = float(getattr(settings, "REMINDER_WEBHOOK_TIMEOUT", 5))
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL set by the administrator
        raw = response.read(65536)
    try:
        answer = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return  # a 2xx without JSON: accepted
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        raise DeliveryError(f"群机器人返回错误 {answer.get('errcode')}：{answer.get('errmsg', '')}")


def failure_reason(exc: Exception) -> str:
    if isinstance(exc, DeliveryError):
        return str(exc)
    if isinstance(exc, urllib.error.HTTPError):
        return f"Webhook 返回 HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"Webhook 无法连接：{exc.reason}"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "连接超时"
    if isinstance(exc, smtplib.SMTPException):
        return f"邮件发送失败（{type(exc).__name__}）：{exc}"
    if isinstance(exc, OSError):
        return f"网络错误：{exc}"
    return f"{type(exc).__name__}: {exc}"


def delivery_send(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Send one delivery at most once successfully. Returns sent / failed / skipped / exhausted.

    The row is locked for the attempt (PostgreSQL: SKIP LOCKED, so a duplicate job for the same delivery
    simply skips it) and marked sent with a conditional update. A worker killed while sending rolls the
    attempt back and the job, redelivered, tries again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("reminder__unit", "digest__user")
            .filter(pk=delivery_id)
            .exclude(status=Delivery.Status.SENT)
            .first()
        )
        if delivery is None:
            return "skipped"
        if delivery.attempts >= max_attempts():
            return "exhausted"
        # The attempt counter doubles as a lease where rows cannot be locked (SQLite).
        leased = (
            Delivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts)
            .exclude(status=Delivery.Status.SENT)
            .update(attempts=F("attempts") + 1)
        )
        if not leased:
            return "skipped"
        try:
            if delivery.channel == Delivery.Channel.EMAIL:
                _send_email(delivery)
            elif delivery.channel in (Delivery.Channel.WEBHOOK, Delivery.Channel.DINGTALK):
                _send_webhook(delivery)
            # inbox deliveries are written as sent with their Notification
        except Exception as exc:  # noqa: BLE001 - any channel failure is recorded, never raised to the caller
            reason = failure_reason(exc)[:1000]
            Delivery.objects.filter(pk=delivery.pk).exclude(status=Delivery.Status.SENT).update(
                status=Delivery.Status.FAILED, error=reason
            )
            logger.warning(
                "催报发送失败：reminder=%s digest=%s channel=%s recipient=%s attempt=%s reason=%s",
                delivery.reminder_id, delivery.digest_id, delivery.channel, delivery.recipient,
                delivery.attempts + 1, reason,
            )  # fmt: skip
            return "failed"
        Delivery.objects.filter(pk=delivery.pk).exclude(status=Delivery.Status.SENT).update(
            status=Delivery.Status.SENT, sent_at=now, error=""
        )
    return "sent"
