"""One permission rule per capability, used by views (mixins/decorators), DRF permission classes and selectors."""

from django.contrib.auth.mixins import AccessMixin
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Role


def can_edit_ledger(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role == Role.SECRETARIAT)


def can_review_reports(user) -> bool:
    return can_edit_ledger(user)


def can_read_everything(user) -> bool:
    return bool(user and user.is_authenticated and user.role in (Role.SECRETARIAT, Role.LEADER))


class LedgerWritePermission(BasePermission):
    """Anyone signed in may read (the selector narrows what); only the secretariat writes."""

    message = "只有医改办工作人员可以修改台账。"

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or can_edit_ledger(request.user)


class SecretariatRequiredMixin(AccessMixin):
    """Browser views that change the ledger. Anonymous users go to login; others get 403."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not can_edit_ledger(request.user):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("只有医改办工作人员可以修改台账。")
        return super().dispatch(request, *args, **kwargs)


def can_read_audit_log(user) -> bool:
    """Only the security auditor (安全审计员) reads the audit trail; nobody may change it (三员分立)."""
    return bool(user and user.is_authenticated and user.is_active and user.role == Role.AUDITOR)


def is_system_admin(user) -> bool:
    """The system administrator (系统管理员): accounts and units in the Django admin, never ledger data."""
    return bool(
        user and user.is_authenticated and user.is_active and user.is_staff and user.role != Role.AUDITOR
        and (user.role == Role.ADMIN or user.is_superuser)
    )


class AuditorRequiredMixin(AccessMixin):
    """Audit-log pages. Anonymous users go to login; every other role gets 403."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not can_read_audit_log(request.user):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("只有安全审计员可以查看审计日志。")
        return super().dispatch(request, *args, **kwargs)
