"""One digest per person per sweep: everything a person was told since their last digest, as one message.

The inbox gets every item as it happens. People who chose 每日汇总 (the default for the secretariat and the
leaders, who are copied on every late unit) get their e-mail / personal 钉钉 message once per sweep instead of
once per item: a leader gets one message, not one per late unit.

Claim first, send second: the digest row is claimed by its unique (user, sweep_on) with INSERT … ON CONFLICT
DO NOTHING, the items are attached to it with a conditional update (`digest IS NULL`), and the deliveries are
written in the same transaction; sending happens after commit. A rerun, a second beat or a retried job finds
the day's digest taken and the items attached, and sends nothing twice.
"""

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from departments.models import User

from . import notify
from .models import Delivery, Digest, Notification
from .reminders import Deliver, _deliver, local_date

LOOKBACK = dt.timedelta(days=7)  # older unread items are in the inbox; a digest does not dig them up


def _claim(*, user_id: int, day: dt.date, now: dt.datetime) -> int | None:
    ops = connection.ops
    table = ops.quote_name(Digest._meta.db_table)
    cols = ", ".join(ops.quote_name(c) for c in ("user_id", "sweep_on", "message", "created_at"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({cols}) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING {ops.quote_name('id')}",
            [user_id, ops.adapt_datefield_value(day), "", ops.adapt_datetimefield_value(now)],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def digest_items(digest_id: int) -> list[Notification]:
    return list(
        Notification.objects.filter(digest_id=digest_id)
        .select_related("reminder__unit")
        .order_by("created_at", "id")
    )


def _not_pushed_yet(items: list[Notification], *, user: dict) -> list[Notification]:
    """Leave out what already reached this person's mailbox or robot at once (sent while they had chosen 即时发送,
    before switching to the digest): nothing is pushed twice."""
    reminder_ids = {n.reminder_id for n in items if n.reminder_id}
    if not reminder_ids:
        return items
    recipients = [f"user:{user['id']}"] + (
        [user["email"].strip().lower()] if (user["email"] or "").strip() else []
    )
    pushed = set(
        Delivery.objects.filter(
            reminder_id__in=reminder_ids,
            channel__in=[Delivery.Channel.EMAIL, Delivery.Channel.DINGTALK],
            recipient__in=recipients,
        ).values_list("reminder_id", flat=True)
    )
    return [n for n in items if n.reminder_id not in pushed]


def _channels(user: dict, pref) -> list[tuple[str, str]]:
    channels = []
    if pref.by_email and (user["email"] or "").strip():
        channels.append((Delivery.Channel.EMAIL, user["email"].strip().lower()))
    if pref.dingtalk_webhook:
        channels.append((Delivery.Channel.DINGTALK, f"user:{user['id']}"))
    return channels


def digests_send(*, now: dt.datetime | None = None, deliver: Deliver = "none") -> int:
    """Build, claim and send today's digests. Returns how many digests this call claimed."""
    now = now or timezone.now()
    day = local_date(now)
    floor = now - LOOKBACK
    waiting = Notification.objects.filter(digest__isnull=True, created_at__gte=floor, created_at__lte=now)
    user_ids = waiting.values_list("user_id", flat=True).distinct()
    users = list(
        User.objects.filter(pk__in=user_ids, is_active=True)
        .values("id", "email", "role", "unit_id")
        .order_by("id")
    )
    prefs = notify.preferences_for(users)
    last = dict(
        Digest.objects.filter(user_id__in=[u["id"] for u in users])
        .order_by("user_id", "created_at")
        .values_list("user_id", "created_at")
    )  # the newest per user wins in the dict
    claimed = 0
    pending: list[int] = []
    for user in users:
        pref = prefs[user["id"]]
        channels = _channels(user, pref)
        if pref.mode != notify.Mode.DIGEST or not channels:
            continue
        since = max(floor, last.get(user["id"]) or floor)
        with transaction.atomic():
            items = list(
                waiting.filter(user_id=user["id"], created_at__gt=since).order_by("created_at", "id")
            )
            items = _not_pushed_yet(items, user=user)
            if not items:
                continue
            digest_id = _claim(user_id=user["id"], day=day, now=now)
            if digest_id is None:
                continue  # today's digest of this person exists: the rest waits for the next sweep
            Notification.objects.filter(pk__in=[n.pk for n in items], digest__isnull=True).update(
                digest_id=digest_id
            )
            items = notify.label_items(digest_items(digest_id), own_unit_id=user["unit_id"])
            Digest.objects.filter(pk=digest_id).update(message=notify.digest_text(items=items, day=day))
            Delivery.objects.bulk_create(
                [Delivery(digest_id=digest_id, channel=channel, recipient=to) for channel, to in channels],
                ignore_conflicts=True,
            )
            pending += list(
                Delivery.objects.filter(digest_id=digest_id, status=Delivery.Status.PENDING).values_list(
                    "id", flat=True
                )
            )
            claimed += 1
    _deliver(pending, deliver=deliver, now=now)
    return claimed
