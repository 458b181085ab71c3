"""Sign-in protection: account and address lockout, and the audit of every login, failure, logout and lockout.

The counters are the audit trail itself (AuditEntry rows with object_type "login"): there is no second table to
keep in step, and because audit rows cannot be altered or deleted nobody can reset a counter by editing it.
We chose this over django-axes because axes would add its own tables, middleware and messages for something
the append-only audit log already records, and its lockout messages would have to be translated and kept
from revealing whether an account exists.
"""

import datetime as dt

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.dispatch import receiver
from django.utils import timezone

from .models import AuditEntry
from .services import audit_log, request_ip

LOGIN_OBJECT = "login"
FAILED, LOCKED, IP_LOCKED, BLOCKED, SUCCESS = (
    "login_failed",
    "login_locked",
    "login_ip_locked",
    "login_blocked",
    "login",
)

INVALID_LOGIN_MESSAGE = "用户名或密码错误，或账号已停用。"
# Shown for unknown user names too: the answer never tells whether an account exists.
LOCKED_MESSAGE = "登录失败次数过多，该账号或当前地址已被暂时锁定，请 {minutes} 分钟后再试。"


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_failures() -> int:
    return _setting("LOGIN_MAX_FAILURES", 5)


def max_ip_failures() -> int:
    return _setting("LOGIN_IP_MAX_FAILURES", 20)


def window() -> dt.timedelta:
    return dt.timedelta(minutes=_setting("LOGIN_FAILURE_WINDOW_MINUTES", 15))


def lockout() -> dt.timedelta:
    return dt.timedelta(minutes=_setting("LOGIN_LOCKOUT_MINUTES", 15))


def _key(username) -> str:
    return str(username or "")[:40]


def login_blocked_reason(*, username, ip: str | None, now=None) -> str | None:
    """A Chinese message if this account or address is locked now, else None."""
    now = now or timezone.now()
    since = now - lockout()
    locked = AuditEntry.objects.filter(
        action=LOCKED, object_type=LOGIN_OBJECT, object_id=_key(username), at__gt=since
    )
    if not locked.exists() and ip:
        locked = AuditEntry.objects.filter(action=IP_LOCKED, object_type=LOGIN_OBJECT, ip=ip, at__gt=since)
        if not locked.exists():
            return None
    return LOCKED_MESSAGE.format(minutes=int(lockout().total_seconds() // 60))


def login_failure_record(*, username, request=None, now=None) -> None:
    """Record a failed sign-in; lock the account (and the address) when too many failures come close together."""
    now = now or timezone.now()
    key = _key(username)
    ip = request_ip(request)
    audit_log(
        action=FAILED, object_type=LOGIN_OBJECT, object_id=key, request=request, message=f"登录失败：{key}"
    )

    # Failures count from the latest of: the window start, the last lock, and (for an account) its last success.
    # A success does not reset an address: one valid account must not let a guesser start over.
    def failures(resets, **where) -> int:
        qs = AuditEntry.objects.filter(object_type=LOGIN_OBJECT, at__gte=now - window(), **where)
        reset = qs.filter(action__in=resets).order_by("-at").first()
        qs = qs.filter(action=FAILED)
        return qs.filter(at__gt=reset.at).count() if reset else qs.count()

    if failures([SUCCESS, LOCKED], object_id=key) >= max_failures():
        audit_log(
            action=LOCKED,
            object_type=LOGIN_OBJECT,
            object_id=key,
            request=request,
            message=f"账号 {key} 连续登录失败 {max_failures()} 次，锁定 {lockout()}",
        )
    if ip and failures([IP_LOCKED], ip=ip) >= max_ip_failures():
        audit_log(
            action=IP_LOCKED,
            object_type=LOGIN_OBJECT,
            object_id=key,
            request=request,
            message=f"地址 {ip} 登录失败 {max_ip_failures()} 次，锁定 {lockout()}",
        )


class LockoutModelBackend(ModelBackend):
    """ModelBackend that refuses, without checking the password, while the account or address is locked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            from django.contrib.auth import get_user_model

            username = kwargs.get(get_user_model().USERNAME_FIELD)
        reason = login_blocked_reason(username=username, ip=request_ip(request))
        if reason:
            if request is not None:
                request.login_blocked = reason
            audit_log(
                action=BLOCKED,
                object_type=LOGIN_OBJECT,
                object_id=_key(username),
                request=request,
                message=f"锁定期间尝试登录：{_key(username)}",
            )
            raise PermissionDenied(reason)
        return super().authenticate(request, username=username, password=password, **kwargs)


class LoginForm(auth_forms.AuthenticationForm):
    error_messages = {"invalid_login": INVALID_LOGIN_MESSAGE, "inactive": INVALID_LOGIN_MESSAGE}

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            reason = getattr(self.request, "login_blocked", None)
            if reason:
                raise ValidationError(reason, code="locked") from None
            raise


SESSION_LOGIN_AT = "_auth_login_at"
SESSION_LAST_ACTIVITY = "_auth_last_activity"


@receiver(user_login_failed, dispatch_uid="departments.audit_login_failed")
def _on_login_failed(sender, credentials, request=None, **kwargs):
    if request is not None and getattr(request, "login_blocked", None):
        return  # already recorded as login_blocked; does not extend the lock
    login_failure_record(username=credentials.get("username"), request=request)


@receiver(user_logged_in, dispatch_uid="departments.audit_login")
def _on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = timezone.now().timestamp()
        request.session[SESSION_LOGIN_AT] = now
        request.session[SESSION_LAST_ACTIVITY] = now
    message = "登录成功"
    if getattr(user, "must_change_password", False):
        reset = (
            AuditEntry.objects.filter(
                object_type="user",
                object_id=str(user.pk),
                action__in=["password_reset", "password_set_initial"],
            )
            .order_by("-at", "-id")
            .first()
        )
        if reset is not None:
            message += f"（密码由 {reset.actor_name} 于 {timezone.localtime(reset.at):%Y-%m-%d %H:%M} 设置，须先修改密码）"
    audit_log(
        actor=user,
        action=SUCCESS,
        object_type=LOGIN_OBJECT,
        object_id=_key(user.get_username()),
        request=request,
        message=message,
    )


@receiver(user_logged_out, dispatch_uid="departments.audit_logout")
def _on_logout(sender, request, user, **kwargs):
    if user is None:
        return
    reason = getattr(request, "logout_reason", "") if request is not None else ""
    audit_log(
        actor=user,
        action=reason or "logout",
        object_type=LOGIN_OBJECT,
        object_id=_key(user.get_username()),
        request=request,
        message={"session_idle": "空闲超时，会话结束", "session_expired": "会话超过最长时限"}.get(
            reason, "退出登录"
        ),
    )
