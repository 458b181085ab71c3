"""The header navigation. Each app's pages appear once the app defines their URL names."""

from django.urls import NoReverseMatch, reverse

from departments.models import Role

ALL = {Role.SECRETARIAT, Role.LEADER, Role.REPORTER, Role.ADMIN}
NAV = [
    ("reports:my-form", "本期填报", {Role.REPORTER}),
    ("reports:period-status", "填报情况", {Role.SECRETARIAT, Role.LEADER}),
    ("tasks:list", "任务台账", ALL),
    ("reports:dashboard", "超期看板", {Role.SECRETARIAT, Role.LEADER, Role.REPORTER}),
    ("reports:rollup-departments", "部门汇总", {Role.SECRETARIAT, Role.LEADER, Role.REPORTER}),
    ("reports:rollup-counties", "县区汇总", {Role.SECRETARIAT, Role.LEADER, Role.REPORTER}),
    ("reports:bulletin-list", "通报", {Role.SECRETARIAT, Role.LEADER, Role.REPORTER}),
    ("tasks:import", "导入", {Role.SECRETARIAT}),
    ("tasks:extract", "读取文件", {Role.SECRETARIAT}),
    ("reports:reminder-log", "催报记录", {Role.SECRETARIAT}),
    ("departments:audit-log", "审计日志", {Role.AUDITOR}),
    ("admin:index", "系统管理", {Role.ADMIN}),
]


def navigation(request):
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    items = []
    for name, label, roles in NAV:
        if user.role not in roles:
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
    return {"nav_items": items, "unread_count": unread, "inbox_url": inbox_url}
