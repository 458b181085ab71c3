from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse, JsonResponse
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


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


def forbidden(request, exception=None):
    message = str(exception) if exception and str(exception) else "您没有执行此操作的权限。"
    if _wants_json(request):
        return JsonResponse({"detail": message}, status=403)
    return render(request, "403.html", {"message": message}, status=403)


def not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": f"未找到：{request.path}。请检查地址，或您无权查看。"}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    """Django calls this with no context: the page must render even when the database or a template is broken."""
    message = "服务器内部错误，操作未完成。请稍后重试；如果问题持续，请联系系统管理员。"
    if _wants_json(request):
        return JsonResponse({"detail": message}, status=500)
    try:
        return render(request, "500.html", {"message": message}, status=500)
    except Exception:  # noqa: BLE001 - the error page itself must never fail
        html = f"<!doctype html><meta charset='utf-8'><title>服务器错误</title><h1>服务器错误</h1><p>{message}</p>"
        return HttpResponse(html, status=500)


def bad_request(request, exception=None):
    message = "请求无效，无法处理。"
    if _wants_json(request):
        return JsonResponse({"detail": message}, status=400)
    return HttpResponse(
        f"<!doctype html><meta charset='utf-8'><title>请求无效</title><h1>请求无效</h1><p>{message}</p>",
        status=400,
    )
