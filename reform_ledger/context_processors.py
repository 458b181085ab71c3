"""The header navigation. Each app's pages appear once the app defines their URL names."""

from django.urls import NoReverseMatch, reverse

from departments.permissions import RULES, has

# (URL name, label, the capability that page needs: departments.permissions)
NAV = [
    ("reports:my-form", "本期填报", "reports.write"),
    ("reports:period-status", "填报情况", "reports.read_all"),
    ("tasks:list", "任务台账", "ledger.read"),
    ("reports:dashboard", "超期看板", "figures.read"),
    ("reports:rollup-departments", "部门汇总", "figures.read"),
    ("reports:rollup-counties", "县区汇总", "figures.read"),
    ("tasks:import", "导入", "ledger.edit"),
    ("tasks:extract", "读取文件", "ledger.edit"),
    ("reports:reminder-log", "催报记录", "reminders.manage"),
    ("reports:notice-list", "督办", "supervision.read"),
    ("reports:extension-list", "延期申请", "supervision.read"),
    ("departments:audit-log", "审计日志", "audit.read"),
    ("admin:index", "系统管理", "accounts.manage"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    items = []
    for name, label, capability in NAV:
        if not has(user, capability):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "active": request.path.startswith(url) and url != "/"})
    unread = 0
    try:
        unread = user.notifications.filter(read_at__isnull=True).count()
    except Exception:  # noqa: BLE001 - the header must render even if the inbox table is unavailable
        unread = 0
    try:
        inbox_url = reverse("reports:inbox")
    except NoReverseMatch:
        inbox_url = ""
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
