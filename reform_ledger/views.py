from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse

from departments.permissions import landing_view_name


@login_required
def home(request):
    """Each role lands where its work is (departments.permissions.LANDING)."""
    try:
        return redirect(reverse(landing_view_name(request.user)))
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


