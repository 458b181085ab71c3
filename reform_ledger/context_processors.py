"""The header navigation. Each app's pages appear once the app defines their URL names."""

import functools

from django.db import connection
from django.urls import NoReverseMatch, reverse

from departments.permissions import RULES, has, roles_hold, roles_may_reach_view, roles_of

# (URL name, label, the capability that page needs: departments.permissions)
NAV = [
    ("reports:my-form", "本期填报", "reports.write"),
    ("reports:period-status", "填报情况", "reports.read_all"),
    ("tasks:list", "任务台账", "ledger.read"),
    ("reports:dashboard", "超期看板", "figures.read"),
    ("reports:rollup-departments", "部门汇总", "figures.read"),
    ("reports:rollup-counties", "县区汇总", "figures.read"),
    ("reports:bulletin-list", "通报", "bulletins.read"),
    ("tasks:import", "导入", "ledger.edit"),
    ("tasks:extract", "读取文件", "ledger.edit"),
    ("reports:reminder-log", "催报记录", "reminders.manage"),
    ("reports:notice-list", "督办", "supervision.read"),
    ("reports:extension-list", "延期申请", "supervision.read"),
    ("departments:audit-log", "审计日志", "audit.read"),
    ("admin:index", "系统管理", "accounts.manage"),
]


@functools.cache
def _nav_urls() -> tuple[tuple[str, str, str], ...]:
    """(url, label, capability) of the NAV pages whose URL names exist: the URLs do not change while the process
    runs, and reversing fourteen of them on every page cost more than a query."""
    out = []
    for name, label, capability in NAV:
        try:
            out.append((reverse(name), label, capability))
        except NoReverseMatch:
            continue
    return tuple(out)


def _unread(user) -> int:
    """The user's unread messages: one COUNT written once (on every page; building it through the ORM cost more
    than PostgreSQL took to answer it)."""
    meta, quote = user.notifications.model._meta, connection.ops.quote_name
    owner, read_at = (quote(meta.get_field(name).column) for name in ("user", "read_at"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {quote(meta.db_table)} WHERE {owner} = %s AND {read_at} IS NULL", [user.pk]
        )
        return cursor.fetchone()[0]


@functools.cache
def _menu(roles: frozenset[str]) -> tuple[tuple[tuple[str, str], ...], str]:
    """((url, label) of the NAV pages, the inbox's URL or "") for a set of roles (departments.permissions.roles_of):
    what a user may open depends on its roles alone, and asking the permissions table fourteen times on every page
    cost more than the unread count's query."""
    items = tuple((url, label) for url, label, capability in _nav_urls() if roles_hold(roles, capability))
    try:
        # no 消息 for a role confined to other pages (the auditor): it would answer 403
        inbox_url = reverse("reports:inbox") if roles_may_reach_view(roles, "reports:inbox") else ""
    except NoReverseMatch:
        inbox_url = ""
    return items, inbox_url


def navigation(request):
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    menu, inbox_url = _menu(roles_of(user))
    items = [
        {"url": url, "label": label, "active": request.path.startswith(url) and url != "/"}
        for url, label in menu
    ]
    try:
        unread = _unread(user)
    except Exception:  # noqa: BLE001 - the header must render even if the inbox table is unavailable
        unread = 0
    return {"nav_items": items, "unread_count": unread, "inbox_url": inbox_url, "user_can": UserCan(user)}


class UserCan:
    """Templates ask the permissions table: ``{% if user_can.ledger_edit %}`` is ``has(user, "ledger.edit")``."""

    def __init__(self, user):
        self._user = user

    def __getattr__(self, name):
        capability = name.replace("_", ".", 1)
        if capability not in RULES:
            raise AttributeError(name)
        return has(self._user, capability)
