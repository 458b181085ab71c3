"""DRF plumbing: pagination and the one handler that turns every error into a Chinese JSON message."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _flatten(detail, prefix="") -> list[str]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            out += _flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
        return out
    if isinstance(detail, list):
        out = []
        for i, value in enumerate(detail):
            sub = prefix if not isinstance(value, dict | list) else f"{prefix}[{i}]"
            out += _flatten(value, sub)
        return out
    return [f"字段 {prefix}：{detail}" if prefix else str(detail)]


def exception_handler(exc, context):
    """Every error answers JSON with a Chinese `detail`; field errors also come under `errors`."""
    if isinstance(exc, ApplicationError):
        body = {"detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        body.update(exc.extra)
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("未找到，或您无权查看。")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied("您没有执行此操作的权限。")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        messages = _flatten(exc.detail)
        response.data = {"detail": "；".join(messages), "errors": exc.detail}
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # Our own token messages say why a token stopped working (expired, revoked); DRF's defaults do not.
        own = getattr(exc, "own_message", False)
        response.data = {"detail": str(exc.detail) if own else "请先登录或提供有效的令牌。"}
    elif isinstance(exc, exceptions.PermissionDenied) and response.data.get("detail") in (
        "You do not have permission to perform this action.",
        "您没有执行该操作的权限。",
    ):
        response.data = {"detail": "您没有执行此操作的权限。"}
    return response
