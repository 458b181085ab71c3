"""API tokens: one key per sign-in, ending like a session (idle and absolute limits), revoked on logout, password
change and account disable. The rule lives here; the DRF authentication class and the services use it."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken

KEYWORD = "Token"
# last_used_at is written at most this often: a write per API call would double the database work of a client.
TOUCH_EVERY = dt.timedelta(seconds=60)


def idle_limit() -> dt.timedelta:
    return dt.timedelta(
        seconds=getattr(settings, "API_TOKEN_IDLE_TIMEOUT", getattr(settings, "SESSION_IDLE_TIMEOUT", 1800))
    )


def absolute_limit() -> dt.timedelta:
    return dt.timedelta(
        seconds=getattr(
            settings, "API_TOKEN_ABSOLUTE_TIMEOUT", getattr(settings, "SESSION_ABSOLUTE_TIMEOUT", 43200)
        )
    )


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_issue(*, user, name: str = "", ip: str | None = None, now=None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the key, which is shown once and never stored."""
    now = now or timezone.now()
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(
        user=user,
        digest=digest(key),
        prefix=key[:8],
        name=(name or "").strip()[:100],
        created_ip=ip,
        expires_at=now + absolute_limit(),
        last_used_at=now,
    )
    return token, key


def token_revoke(*, token: ApiToken, reason: str, now=None) -> bool:
    """Revoke one token; False if it was already revoked."""
    return bool(
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now or timezone.now(), revoked_reason=reason[:40]
        )
    )


def tokens_revoke_all(*, user, reason: str, now=None) -> int:
    """Revoke every live token of an account (password changed, account disabled); returns how many."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now(), revoked_reason=reason[:40]
    )


def token_state(token: ApiToken, *, now=None) -> str | None:
    """Why the token no longer works, in Chinese, or None while it is valid."""
    now = now or timezone.now()
    if token.revoked_at is not None:
        return "令牌已吊销，请重新获取令牌。"
    if now >= token.expires_at:
        return "令牌已超过最长有效期，请重新获取令牌。"
    if token.last_used_at is not None and now - token.last_used_at > idle_limit():
        return "令牌因长时间未使用已失效，请重新获取令牌。"
    if not token.user.is_active:
        return "账号已停用。"
    return None


def token_for_key(key: str) -> ApiToken | None:
    """The live token of a key, or None (unknown, revoked, expired, idle or the account disabled)."""
    token = ApiToken.objects.select_related("user").filter(digest=digest(key)).first()
    if token is None or token_state(token) is not None:
        return None
    return token


class TokenRejected(exceptions.AuthenticationFailed):
    own_message = True  # reform_ledger.drf shows this message as it is


class ExpiringTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>` as DRF's, against ApiToken with the session-like limits."""

    keyword = KEYWORD

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(digest=digest(key)).first()
        if token is None:
            raise TokenRejected("令牌无效，请重新获取令牌。")
        now = timezone.now()
        problem = token_state(token, now=now)
        if problem:
            raise TokenRejected(problem)
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
