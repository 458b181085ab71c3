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


# The Chinese names of the API's input fields (CONTRACT.md), for the `detail` of a field-keyed error: the
# `errors` object keeps the API's keys, the sentence a person reads names the field as the pages do.
FIELD_LABELS = {
    "document": "文件",
    "path": "编号",
    "section": "所属章节",
    "title": "任务名称",
    "text": "内容",
    "note": "备注",
    "status": "进展状态",
    "lead_units": "牵头单位",
    "responsible_units": "责任单位",
    "counties": "县(市、区)",
    "milestones": "时限节点",
    "targets": "量化指标",
    "version": "版本号",
    "date": "日期",
    "indicator": "指标名称",
    "op": "比较方式",
    "value": "目标值",
    "value_high": "上限值",
    "unit": "单位",
    "due": "到期日",
    "baseline": "基线值",
    "progress": "进展",
    "percent": "完成百分比",
    "problems": "存在问题",
    "next_steps": "下步打算",
    "target_values": "指标实际值",
    "target": "指标",
    "reason": "原因",
}
# Where a key means something else under its parent.
NESTED_LABELS = {
    ("milestones", "text"): "节点说明",
    ("targets", "text"): "原文",
    ("target_values", "value"): "实际值",
}


def _field_name(path: tuple) -> str:
    """("targets", 0, "value") -> 量化指标第 1 项的目标值."""
    out, parent = "", None
    for part in path:
        if isinstance(part, int):
            out += f"第 {part + 1} 项"
            continue
        label = NESTED_LABELS.get((parent, part)) or FIELD_LABELS.get(part, part)
        out += f"的{label}" if out else label
        parent = part
    return out


def _flatten(detail, path: tuple = ()) -> list[str]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            out += _flatten(value, path if key == "non_field_errors" else (*path, key))
        return out
    if isinstance(detail, list):
        out = []
        for i, value in enumerate(detail):
            out += _flatten(value, path if not isinstance(value, dict | list) else (*path, i))
        return out
    return [f"{_field_name(path)}：{detail}" if path else str(detail)]


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
