from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse

from departments.models import Role

# Where each role's work is. Names that an app has not defined yet fall through to the ledger.
LANDING = {
    Role.REPORTER: "reports:my-form",
    Role.SECRETARIAT: "reports:period-status",
    Role.LEADER: "reports:dashboard",
    Role.AUDITOR: "departments:audit-log",
    Role.ADMIN: "admin:index",
}


@login_required
def home(request):
    name = LANDING.get(request.user.role)
    try:
        return redirect(reverse(name)) if name else redirect("tasks:list")
    except NoReverseMatch:
        return redirect("tasks:list")


def healthz(request):
    """Liveness for the load balancer and docker-compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def forbidden(request, exception=None):
    message = str(exception) if exception and str(exception) else "您没有执行此操作的权限。"
    return render(request, "403.html", {"message": message}, status=403)


def not_found(request, exception=None):
    return render(request, "404.html", status=404)


