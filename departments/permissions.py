"""Who may do what: the one table of the roles' rights, and the predicates every other place asks.

Pages (mixins and ``require``), DRF permission classes, selectors (``tasks_visible_to``, ``reports_visible_to``,
``rollup_units_visible_to``), exports, the header menu and the templates (``{% can "ledger.edit" as x %}``) ask
these functions; nothing else compares role strings. ``tests/security/test_role_matrix.py`` pins the answer of
every URL for every role, so a change here fails that test until its table is changed too.

Plain predicates rather than the ``rules`` library: the rules that matter most are querysets (which reports a
user may read), which ``rules``' per-object predicates cannot express, and the table below fits on one screen.

三员分立 (separation of the three administrative roles):
- the administrator (系统管理员) manages accounts and units in /admin/, reads the ledger (tasks, units, periods)
  and the roll-up figures, and never reads report content: no report, attachment, 汇总表, unit comparison, or
  report text in the ledger export; changes no ledger data;
- the security auditor (安全审计员) reads the audit log and nothing else;
- nobody may change audit records.

Report content is the unit's own until submitted: others (the secretariat, leaders, a lead unit reading its
responsible units) read only reports that have been submitted (drafts are never shown to them).
"""

from __future__ import annotations

import functools

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Role

SEC, REP, LEAD, ADMIN, AUDITOR = Role.SECRETARIAT, Role.REPORTER, Role.LEADER, Role.ADMIN, Role.AUDITOR

# capability -> the roles that hold it. A reporter's rights always concern its own unit (and, read-only, the
# submitted reports of the units on tasks its unit leads); a reporter without a unit holds none of them.
RULES: dict[str, frozenset[str]] = {
    # the ledger: plans, tasks, units, periods
    "ledger.read": frozenset({SEC, LEAD, ADMIN, REP}),  # a reporter: the tasks its unit carries
    "ledger.read_all": frozenset({SEC, LEAD, ADMIN}),  # every task
    "ledger.edit": frozenset({SEC}),  # create, edit, delete, restore tasks; import plans and Excel ledgers
    # roll-ups and the dashboard (figures, not report text)
    "figures.read": frozenset({SEC, LEAD, ADMIN, REP}),  # a reporter: its own unit's row
    "figures.read_all": frozenset({SEC, LEAD, ADMIN}),
    # report content (text, values, attachments): submitted reports only, except a unit's own
    "reports.read_all": frozenset({SEC, LEAD}),  # every unit's submitted reports, 汇总表, period status
    "reports.read_led": frozenset({REP}),  # the submitted reports of the units on tasks its unit leads
    "reports.write": frozenset({REP}),  # its own unit's reports: draft, submit, attachments, offline form
    "reports.review": frozenset({SEC}),  # return, accept, reopen
    "periods.manage": frozenset({SEC}),  # open and close periods, set due dates
    "reminders.manage": frozenset({SEC}),  # reminder log, 催报 by hand
    # 督办: notices (督办单) and extension requests (延期申请); a reporter: its own unit's
    "supervision.read": frozenset({SEC, LEAD, REP}),
    "notices.issue": frozenset({SEC, LEAD}),
    "notices.answer": frozenset({REP}),  # sign and reply, for its own unit
    "extensions.request": frozenset({REP}),  # a lead unit's reporter, for its own unit's tasks
    "supervision.decide": frozenset({SEC}),  # close and send back notices, approve and reject requests
    # the quarterly 通报: the secretariat writes and issues; leaders and every unit read the issued ones
    "bulletins.read": frozenset({SEC, LEAD, REP}),
    "bulletins.write": frozenset({SEC}),
    # administration
    "accounts.manage": frozenset({ADMIN}),  # accounts, units and aliases in /admin/
    "audit.read": frozenset({AUDITOR}),  # the audit log and its export
}

# A role confined to a few pages: every other URL answers 403 (a list) or 404 (an object), in the browser and the
# API alike, whatever the view itself would allow. Pages anyone may reach (sign-in, health, API schema) included.
PUBLIC_VIEWS = frozenset(
    {
        "home",
        "healthz",
        "departments:login",
        "departments:logout",
        "api-token",
        "api-schema",
        "api-docs",
        "admin:login",
        "admin:logout",
    }
)
CONFINED: dict[str, frozenset[str]] = {
    AUDITOR: PUBLIC_VIEWS
    | {"departments:audit-log", "departments:audit-export", "departments:password-change"}
    | {"api-logout", "api-tokens", "api-token-detail"},
}

# Where each role's work is (the home page redirects there).
LANDING: dict[str, str] = {
    REP: "reports:my-form",
    SEC: "reports:period-status",
    LEAD: "reports:dashboard",
    AUDITOR: "departments:audit-log",
    ADMIN: "admin:index",
}

MESSAGES: dict[str, str] = {
    "ledger.edit": "只有医改办工作人员可以修改台账。",
    "reports.read_all": "本页面供医改办和领导查看各单位填报情况。",
    "reports.write": "本页面供单位填报员填写季度进展。",
    "reports.review": "只有医改办工作人员可以审核报告。",
    "periods.manage": "只有医改办工作人员可以管理填报期。",
    "reminders.manage": "只有医改办工作人员可以催报。",
    "figures.read": "汇总与看板仅向领导、医改办、系统管理员和各单位填报员开放。",
    "audit.read": "只有安全审计员可以查看审计日志。",
    "supervision.read": "督办单和延期申请只对医改办、领导和单位填报员开放。",
    "notices.issue": "只有医改办工作人员和领导可以下发督办单。",
    "supervision.decide": "只有医改办工作人员可以办结督办单、审批延期申请。",
    "accounts.manage": "只有系统管理员可以管理账号和单位。",
    "bulletins.read": "季度通报仅向医改办、领导和各单位开放。",
    "bulletins.write": "只有医改办工作人员可以编写和印发通报。",
}
CONFINED_MESSAGE = "安全审计员只能查看审计日志。"


def _active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def roles_of(user) -> frozenset[str]:
    """The roles whose rights a user holds: its role (a reporter's only with a unit), and the administrator's
    for a Django superuser."""
    if not _active(user):
        return frozenset()
    roles = set()
    if user.role != REP or user.unit_id:
        roles.add(user.role)
    if user.is_superuser and user.role != AUDITOR:
        roles.add(ADMIN)
    return frozenset(roles)


def has(user, capability: str) -> bool:
    """True if the user holds the capability (see RULES)."""
    return roles_hold(roles_of(user), capability)


def roles_hold(roles: frozenset[str], capability: str) -> bool:
    """True if these roles (`roles_of`) hold the capability: what a user may do depends on its roles alone."""
    allowed = RULES[capability]  # a KeyError for a misspelt capability, not a silent False
    return any(role in allowed for role in roles)


def require(user, capability: str) -> None:
    """Raise PermissionDenied (403 in the browser and the API) unless the user holds the capability."""
    if not has(user, capability):
        raise PermissionDenied(MESSAGES.get(capability, "您没有执行此操作的权限。"))


def may_reach_view(user, view_name: str) -> bool:
    """False when the user's role is confined to a few pages (the auditor) and this is not one of them."""
    return roles_may_reach_view(roles_of(user), view_name)


def roles_may_reach_view(roles: frozenset[str], view_name: str) -> bool:
    confined = [CONFINED[r] for r in roles if r in CONFINED]
    return not confined or any(view_name in views for views in confined)


def landing_view_name(user) -> str:
    """The page a user's work starts on (the ledger when the role has none of its own)."""
    return next(
        (LANDING[r] for r in sorted(roles_of(user), key=lambda r: r != user.role) if r in LANDING),
        "tasks:list",
    )


# --- named predicates (the ones other modules call) --------------------------------------------------------


def can_edit_ledger(user) -> bool:
    return has(user, "ledger.edit")


def can_review_reports(user) -> bool:
    return has(user, "reports.review")


def can_read_everything(user) -> bool:
    """Every unit's submitted report content (汇总表, period status, report pages)."""
    return has(user, "reports.read_all")


def can_read_audit_log(user) -> bool:
    """Only the security auditor (安全审计员) reads the audit trail; nobody may change it (三员分立)."""
    return has(user, "audit.read")


def is_system_admin(user) -> bool:
    """The system administrator (系统管理员): accounts and units in the Django admin, never ledger data."""
    return bool(has(user, "accounts.manage") and user.is_staff)


def report_unit_ids_readable(user) -> set[int] | None:
    """Whose report text a user's ledger export may carry: None for every unit, else a set (maybe empty)."""
    if has(user, "reports.read_all"):
        return None
    return {user.unit_id} if has(user, "reports.write") else set()


# --- views and the API ---------------------------------------------------------------------------------------


def capability_required(capability: str):
    """Function views: anonymous users go to the sign-in page; a user without ``capability`` gets 403."""
    RULES[capability]  # noqa: B018 - fail at import time on a misspelt capability

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require(request.user, capability)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class CapabilityRequiredMixin(AccessMixin):
    """Browser views: anonymous users go to the sign-in page; a user without ``capability`` gets 403."""

    capability = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        require(request.user, self.capability)
        return super().dispatch(request, *args, **kwargs)


class SecretariatRequiredMixin(CapabilityRequiredMixin):
    """Browser views that change the ledger."""

    capability = "ledger.edit"


class AuditorRequiredMixin(CapabilityRequiredMixin):
    """Audit-log pages."""

    capability = "audit.read"


class LedgerWritePermission(BasePermission):
    """Anyone signed in may read (the selector narrows what); only who holds ``ledger.edit`` writes."""

    message = MESSAGES["ledger.edit"]

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or can_edit_ledger(request.user)


class HasCapability(BasePermission):
    """DRF: ``permission_classes = [HasCapability.of("figures.read")]``."""

    capability = ""

    @classmethod
    def of(cls, capability: str):
        RULES[capability]  # noqa: B018 - fail at import time on a misspelt capability
        return type(
            f"Has_{capability.replace('.', '_')}",
            (cls,),
            {"capability": capability, "message": MESSAGES.get(capability)},
        )

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated) and has(request.user, self.capability)
