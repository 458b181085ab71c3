"""Security middleware: session time limits, security headers (CSP) and the audit of denied access."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse

from .permissions import CONFINED_MESSAGE, PUBLIC_VIEWS, may_reach_view
from .security import SESSION_LAST_ACTIVITY, SESSION_LOGIN_AT
from .services import audit_log
from .tokens import token_for_key

# Writing the session on every request would cost a database write per click; a minute's precision is enough.
ACTIVITY_WRITE_EVERY_SECONDS = 60


class SessionTimeoutMiddleware:
    """Ends a session after SESSION_IDLE_TIMEOUT seconds without a request, or SESSION_ABSOLUTE_TIMEOUT after login.

    Also ends, at once, the session of an account that has been disabled (or deleted): Django then no longer
    resolves the session to a user, and we flush what is left of it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY):
            self._check(request, session)
        return self.get_response(request)

    def _check(self, request, session):
        if not request.user.is_authenticated:  # disabled or deleted account, or a stale session hash
            session.flush()
            return
        now = time.time()
        idle = getattr(settings, "SESSION_IDLE_TIMEOUT", 30 * 60)
        absolute = getattr(settings, "SESSION_ABSOLUTE_TIMEOUT", 12 * 3600)
        login_at = session.get(SESSION_LOGIN_AT)
        last = session.get(SESSION_LAST_ACTIVITY)
        if login_at is None:  # a session created before these limits existed starts counting now
            session[SESSION_LOGIN_AT] = session[SESSION_LAST_ACTIVITY] = now
            return
        reason = ""
        if now - login_at > absolute:
            reason = "session_expired"
        elif last is not None and now - last > idle:
            reason = "session_idle"
        if reason:
            request.logout_reason = reason
            logout(request)  # fires user_logged_out: audited with the reason
            messages.info(request, "会话已超时，请重新登录。")
            return
        if last is None or now - last >= ACTIVITY_WRITE_EVERY_SECONDS:
            session[SESSION_LAST_ACTIVITY] = now


def content_security_policy() -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",  # Swagger UI draws its icons from data: URLs
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        ]
    )


class SecurityHeadersMiddleware:
    """Content-Security-Policy without inline script (nosniff, frame denial and referrer policy come from Django)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        return response


class DeniedAccessAuditMiddleware:
    """Audits every 403, and every 404 on a URL that names an object (someone asked for a row they cannot see)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        status = response.status_code
        match = getattr(request, "resolver_match", None)
        if status == 403 or (status == 404 and match is not None and match.kwargs):
            user = getattr(request, "user", None)
            audit_log(
                actor=user if user is not None and user.is_authenticated else None,
                action="access_denied",
                object_type=(match.view_name if match else "")[:40],
                object_id=str(next(iter(match.kwargs.values()), ""))[:40] if match and match.kwargs else "",
                request=request,
                message=f"{request.method} {request.get_full_path()[:500]} → {status}",
            )
        return response


def _token_user(request):
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Token "):
        return None
    token = token_for_key(header[6:].strip())
    return token.user if token else None


class AuditorConfinementMiddleware:
    """Keeps a confined role (the auditor: departments.permissions.CONFINED) to its pages, in the browser and in
    the API (session or token), whatever a view itself would allow."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or match.view_name in PUBLIC_VIEWS:
            return None
        user = request.user if request.user.is_authenticated else _token_user(request)
        if user is None or may_reach_view(user, match.view_name):
            return None
        # An object the role may not see answers 404 like for every other role; a page or list answers 403.
        if request.path.startswith("/api/"):
            if match.kwargs:
                return JsonResponse({"detail": "未找到，或您无权查看。"}, status=404)
            return JsonResponse({"detail": CONFINED_MESSAGE}, status=403)
        if match.kwargs:
            raise Http404("未找到，或您无权查看。")
        raise PermissionDenied(CONFINED_MESSAGE)


# What an account that must change its password may still open: the change itself, signing out, and what every
# page needs to render.
PASSWORD_CHANGE_ALLOWED = {
    "departments:password-change",
    "departments:logout",
    "departments:login",
    "healthz",
}
PASSWORD_CHANGE_MESSAGE = "您的密码由他人设置或重置，请先修改密码后再继续使用。"


class PasswordChangeRequiredMiddleware:
    """After an administrator's reset (departments/accounts.py) the owner must choose a new password first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from django.http import JsonResponse
        from django.shortcuts import redirect

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not getattr(user, "must_change_password", False):
            return None
        match = request.resolver_match
        if match is None or match.view_name in PASSWORD_CHANGE_ALLOWED or request.path.startswith("/static/"):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": PASSWORD_CHANGE_MESSAGE}, status=403)
        messages.warning(request, PASSWORD_CHANGE_MESSAGE)
        return redirect("departments:password-change")
