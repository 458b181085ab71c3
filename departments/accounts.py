"""Who set a password, and what follows (三员分立).

A password set by anyone but the account's owner (an administrator's reset in /admin/, a new account made there)
is audited with who, when and from where, forces the owner to choose a new password at the next sign-in, revokes
the account's API tokens and tells the owner. So an administrator cannot quietly sign in as a business user: the
reset, the sign-in that follows it and the forced change all stand in the audit log.

Implemented on the model's save signals, so every path that sets a password (admin forms, the API, services,
management commands) is covered, not only the ones we remembered to decorate.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import Signal, receiver
from django.utils import timezone

from reform_ledger.db import current_request

from .models import User
from .services import audit_log
from .tokens import tokens_revoke_all

logger = logging.getLogger(__name__)

# Sent after a password was set by someone else (kwargs: user, actor). reports connects the in-app notice.
password_reset_by_other = Signal()


def _request_actor():
    request = current_request.get()
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


@receiver(pre_save, sender=User, dispatch_uid="departments.accounts.remember_old")
def _remember_old(sender, instance: User, raw=False, **kwargs):
    if raw or instance.pk is None:
        instance._old_account = None
        return
    instance._old_account = User.objects.filter(pk=instance.pk).values("password", "is_active").first()


@receiver(post_save, sender=User, dispatch_uid="departments.accounts.after_save")
def _after_save(sender, instance: User, created: bool, raw=False, **kwargs):
    if raw:
        return
    old = getattr(instance, "_old_account", None)
    instance._old_account = None
    password_changed = (created and instance.has_usable_password()) or (
        old is not None and old["password"] != instance.password
    )
    if old is not None and old["is_active"] and not instance.is_active:
        revoked = tokens_revoke_all(user=instance, reason="account_disabled")
        audit_log(
            action="account_disable",
            obj=instance,
            changes={"is_active": [True, False]},
            message=f"账号停用，吊销 API 令牌 {revoked} 个",
        )
    if password_changed:
        _password_changed(instance, created=created)


def _password_changed(user: User, *, created: bool) -> None:
    actor = _request_actor()
    now = timezone.now()
    by_other = actor is not None and actor.pk != user.pk
    revoked = 0 if created else tokens_revoke_all(user=user, reason="password_changed")
    # update(), not save(): no second round of these signals.
    User.objects.filter(pk=user.pk).update(must_change_password=by_other, password_changed_at=now)
    user.must_change_password, user.password_changed_at = by_other, now
    if by_other:
        action = "password_set_initial" if created else "password_reset"
        audit_log(
            actor=actor,
            action=action,
            obj=user,
            message=(
                f"{actor.get_username()} 为账号 {user.get_username()} "
                f"{'设置初始密码' if created else '重置密码'}；该账号下次登录须先修改密码"
                + (f"，已吊销 API 令牌 {revoked} 个" if revoked else "")
            ),
        )
        if not created:
            transaction.on_commit(lambda: _tell_owner(user.pk, actor.pk))
    elif actor is not None:
        audit_log(
            actor=actor,
            action="password_change",
            obj=user,
            message="本人修改密码" + (f"，已吊销 API 令牌 {revoked} 个" if revoked else ""),
        )
    elif not created:  # a new account's creation is audited where it is created (add_user, the admin)
        audit_log(action="password_set_system", obj=user, message="密码由系统或命令行设置")


def _tell_owner(user_id: int, actor_id: int) -> None:
    user = User.objects.filter(pk=user_id).first()
    actor = User.objects.filter(pk=actor_id).first()
    if user is None or actor is None:
        return
    password_reset_by_other.send(sender=User, user=user, actor=actor)
    if user.email:
        when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        try:
            send_mail(
                "【医改台账】您的账号密码已被重置",
                f"{user}：\n\n您的账号 {user.get_username()} 的密码已于 {when} 由 {actor}（{actor.get_username()}）重置。"
                "下次登录时须先设置新密码。如果不是您本人要求的，请立即联系医改办和安全审计员。\n",
                settings.DEFAULT_FROM_EMAIL,
                [user.email],
            )
        except Exception:  # noqa: BLE001 - the reset is done and audited; a mail server down must not undo it
            logger.exception("密码重置通知邮件发送失败：%s", user.get_username())
