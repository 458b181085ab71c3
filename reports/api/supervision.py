"""督办 API: notices (督办单) and extension requests (延期申请), see /work/shared/CONTRACT.md.

- ``GET/POST /api/notices/``, ``GET /api/notices/{id}/``, ``POST …/sign/``, ``…/reply/`` (text, expected_date),
  ``…/close/``, ``…/reopen/`` (reason, optional reply_by).
- ``GET/POST /api/extension-requests/`` (task, milestone_date, new_date, reason), ``GET …/{id}/``,
  ``POST …/approve/`` (optional reason), ``…/reject/`` (reason).

Objects the caller may not see answer 404 (another unit's, or any for the administrator and the auditor);
actions on visible objects the caller may not take answer 403; acting on a state that has moved on (signing
twice, deciding a decided request, replying to a closed notice) answers 409.
"""

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from departments.models import Unit
from departments.permissions import has
from departments.services import ApplicationError, PermissionDeniedError
from reform_ledger.params import is_id
from tasks.models import ExtensionRequest
from tasks.selectors import tasks_visible_to

from ..extensions import extension_approve, extension_reject, extension_request, extensions_visible_to
from ..models import Notice
from ..notices import (
    notice_can_issue,
    notice_close,
    notice_issue,
    notice_reopen,
    notice_reply,
    notice_sign,
    notices_visible_to,
)


def _body(request) -> dict:
    if not hasattr(request.data, "get"):
        raise ApplicationError("请求内容应为 JSON 对象。")
    return request.data


def _person(user) -> str | None:
    return str(user) if user is not None else None


def _choice(raw: str, choices, *, field: str, label: str) -> str | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    for value, text in choices:
        if raw in (value, text):
            return value
    options = "、".join(v for v, _ in choices)
    raise ApplicationError(f"筛选条件“{label}”的值“{raw}”无效，可选：{options}。", field=field)


def _id_param(params, name: str, label: str) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    if not is_id(raw):
        raise ApplicationError(f"筛选条件“{label}”的值“{raw}”无效，应为编号。", field=name)
    return int(raw)


# --------------------------------------------------------------------------------------------------- notices


class NoticeSerializer(serializers.ModelSerializer):
    tasks = serializers.SerializerMethodField()
    unit = serializers.IntegerField(source="unit_id")
    unit_name = serializers.CharField(source="unit.name")
    status_label = serializers.CharField(source="get_status_display")
    issued_by = serializers.SerializerMethodField()
    signed_by = serializers.SerializerMethodField()
    replied_by = serializers.SerializerMethodField()
    closed_by = serializers.SerializerMethodField()

    class Meta:
        model = Notice
        fields = [
            "id", "number", "tasks", "unit", "text", "reply_by", "status", "signed_at", "signed_by", "reply",
            "replied_at", "expected_date", "replied_by", "issued_at", "issued_by", "closed_at", "closed_by",
            "unit_name", "status_label", "version",
        ]  # fmt: skip
        read_only_fields = fields

    def get_tasks(self, obj) -> list[int]:
        return sorted(t.pk for t in obj.tasks.all())

    def get_issued_by(self, obj) -> str | None:
        return _person(obj.issued_by)

    def get_signed_by(self, obj) -> str | None:
        return _person(obj.signed_by)

    def get_replied_by(self, obj) -> str | None:
        return _person(obj.replied_by)

    def get_closed_by(self, obj) -> str | None:
        return _person(obj.closed_by)


NoticeIn = inline_serializer(
    "NoticeIn",
    {
        "unit": serializers.IntegerField(help_text="承办单位 id（也可用单位名称）"),
        "tasks": serializers.ListField(child=serializers.IntegerField(), help_text="督办的任务 id"),
        "text": serializers.CharField(help_text="督办事项"),
        "reply_by": serializers.DateField(help_text="答复期限"),
    },
)
ReplyIn = inline_serializer(
    "NoticeReplyIn",
    {
        "text": serializers.CharField(help_text="整改措施"),
        "expected_date": serializers.DateField(help_text="预计完成时间"),
    },
)
ReopenIn = inline_serializer(
    "NoticeReopenIn",
    {
        "reason": serializers.CharField(),
        "reply_by": serializers.DateField(required=False, help_text="新的答复期限"),
    },
)
EmptyIn = inline_serializer("EmptyIn", {})


def _notices(user):
    return notices_visible_to(user=user).prefetch_related("tasks")


def _unit_from(value) -> Unit | None:
    if value in (None, ""):
        raise ApplicationError("请指定承办单位。", field="unit")
    if isinstance(value, int) or is_id(str(value)):
        unit = Unit.objects.filter(pk=int(value), deleted_at__isnull=True).first()
    else:
        from departments.selectors import unit_resolve

        unit = unit_resolve(name=str(value))
    if unit is None:
        raise ApplicationError(f"承办单位“{value}”不存在。", field="unit")
    return unit


class NoticeListCreate(generics.ListAPIView):
    serializer_class = NoticeSerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = _notices(self.request.user)
        params = self.request.query_params
        value = _choice(params.get("status"), Notice.Status.choices, field="status", label="状态")
        if value:
            qs = qs.filter(status=value)
        unit = _id_param(params, "unit", "单位")
        if unit is not None:
            qs = qs.filter(unit_id=unit)
        task = _id_param(params, "task", "任务")
        if task is not None:
            qs = qs.filter(tasks=task)
        if (params.get("open") or "").lower() in ("true", "1"):
            qs = qs.exclude(status=Notice.Status.CLOSED)
        return qs.order_by("-year", "-seq")

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="issued / signed / replied / closed"),
            OpenApiParameter("unit", int, description="承办单位 id"),
            OpenApiParameter("task", int, description="任务 id"),
            OpenApiParameter("open", bool, description="true：只看未办结的"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=NoticeIn, responses={201: NoticeSerializer})
    def post(self, request):
        if not notice_can_issue(user=request.user):
            raise PermissionDeniedError("只有医改办工作人员和领导可以下发督办单。")
        data = _body(request)
        tasks = data.getlist("tasks") if hasattr(data, "getlist") else data.get("tasks")
        if not isinstance(tasks, (list, tuple)):
            raise ApplicationError("tasks 应为任务 id 的列表，例如 [12, 15]。", field="tasks")
        notice = notice_issue(
            unit=_unit_from(data.get("unit")),
            tasks=tasks,
            text=data.get("text"),
            reply_by=data.get("reply_by"),
            actor=request.user,
            request=request,
        )
        return Response(
            self.get_serializer(_notices(request.user).get(pk=notice.pk)).data, status=status.HTTP_201_CREATED
        )


class NoticeDetail(generics.GenericAPIView):
    serializer_class = NoticeSerializer

    def get(self, request, pk):
        return Response(self.get_serializer(get_object_or_404(_notices(request.user), pk=pk)).data)


class _NoticeAction(generics.GenericAPIView):
    serializer_class = NoticeSerializer

    def post(self, request, pk):
        notice = get_object_or_404(notices_visible_to(user=request.user), pk=pk)
        self.act(notice, _body(request))
        return Response(self.get_serializer(_notices(request.user).get(pk=notice.pk)).data)


class NoticeSign(_NoticeAction):
    @extend_schema(request=EmptyIn, responses=NoticeSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, notice, data):
        notice_sign(notice=notice, actor=self.request.user, request=self.request)


class NoticeReply(_NoticeAction):
    @extend_schema(request=ReplyIn, responses=NoticeSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, notice, data):
        notice_reply(
            notice=notice,
            text=data.get("text"),
            expected_date=data.get("expected_date"),
            actor=self.request.user,
            request=self.request,
        )


class NoticeClose(_NoticeAction):
    @extend_schema(request=EmptyIn, responses=NoticeSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, notice, data):
        notice_close(notice=notice, actor=self.request.user, request=self.request)


class NoticeReopen(_NoticeAction):
    @extend_schema(request=ReopenIn, responses=NoticeSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, notice, data):
        notice_reopen(
            notice=notice,
            reason=data.get("reason"),
            reply_by=data.get("reply_by"),
            actor=self.request.user,
            request=self.request,
        )


# --------------------------------------------------------------------------------------------------- extensions


class ExtensionSerializer(serializers.ModelSerializer):
    task = serializers.IntegerField(source="task_id")
    unit = serializers.IntegerField(source="unit_id")
    unit_name = serializers.CharField(source="unit.name")
    task_path = serializers.CharField(source="task.path_key")
    task_title = serializers.CharField(source="task.title")
    status_label = serializers.CharField(source="get_status_display")
    requested_by = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = ExtensionRequest
        fields = [
            "id", "task", "unit", "milestone_date", "new_date", "reason", "status", "decided_by", "decided_at",
            "decision_reason", "is_late", "requested_by", "created_at", "unit_name", "task_path", "task_title",
            "status_label",
        ]  # fmt: skip
        read_only_fields = fields

    def get_requested_by(self, obj) -> str | None:
        return _person(obj.requested_by)

    def get_decided_by(self, obj) -> str | None:
        return _person(obj.decided_by)


ExtensionIn = inline_serializer(
    "ExtensionIn",
    {
        "task": serializers.IntegerField(),
        "milestone_date": serializers.DateField(help_text="要延期的时间节点的日期"),
        "new_date": serializers.DateField(help_text="申请延期至"),
        "reason": serializers.CharField(),
    },
)
DecisionIn = inline_serializer("ExtensionDecisionIn", {"reason": serializers.CharField(required=False)})


class ExtensionListCreate(generics.ListAPIView):
    serializer_class = ExtensionSerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = extensions_visible_to(user=self.request.user)
        params = self.request.query_params
        value = _choice(params.get("status"), ExtensionRequest.Status.choices, field="status", label="状态")
        if value:
            qs = qs.filter(status=value)
        for name, label in (("task", "任务"), ("unit", "单位")):
            found = _id_param(params, name, label)
            if found is not None:
                qs = qs.filter(**{f"{name}_id": found})
        return qs.order_by("-created_at", "-id")

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="pending / approved / rejected"),
            OpenApiParameter("task", int, description="任务 id"),
            OpenApiParameter("unit", int, description="申请单位 id"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ExtensionIn, responses={201: ExtensionSerializer})
    def post(self, request):
        user = request.user
        if not has(user, "extensions.request"):
            raise PermissionDeniedError("只有任务牵头单位的填报员可以申请延期。")
        data = _body(request)
        task_id = data.get("task")
        if task_id in (None, ""):
            raise ApplicationError("请指定任务。", field="task")
        if not is_id(str(task_id)):
            raise ApplicationError(f"任务编号“{task_id}”无效。", field="task")
        task = tasks_visible_to(user=user).filter(pk=int(task_id)).first()
        if task is None:
            raise ApplicationError(f"任务 {task_id} 不存在或不是本单位承担的任务。", field="task")
        req = extension_request(
            task=task,
            milestone_date=data.get("milestone_date"),
            new_date=data.get("new_date"),
            reason=data.get("reason"),
            actor=user,
            request=request,
        )
        return Response(self.get_serializer(req).data, status=status.HTTP_201_CREATED)


class ExtensionDetail(generics.GenericAPIView):
    serializer_class = ExtensionSerializer

    def get(self, request, pk):
        return Response(
            self.get_serializer(get_object_or_404(extensions_visible_to(user=request.user), pk=pk)).data
        )


class ExtensionApprove(generics.GenericAPIView):
    serializer_class = ExtensionSerializer

    @extend_schema(request=DecisionIn, responses=ExtensionSerializer)
    def post(self, request, pk):
        extension = get_object_or_404(extensions_visible_to(user=request.user), pk=pk)
        data = _body(request)
        req = extension_approve(
            extension=extension, actor=request.user, reason=data.get("reason") or "", request=request
        )
        return Response(self.get_serializer(req).data)


class ExtensionReject(generics.GenericAPIView):
    serializer_class = ExtensionSerializer

    @extend_schema(request=DecisionIn, responses=ExtensionSerializer)
    def post(self, request, pk):
        extension = get_object_or_404(extensions_visible_to(user=request.user), pk=pk)
        data = _body(request)
        req = extension_reject(
            extension=extension, actor=request.user, reason=data.get("reason"), request=request
        )
        return Response(self.get_serializer(req).data)


urlpatterns = [
    path("notices/", NoticeListCreate.as_view(), name="api-notices"),
    path("notices/<int:pk>/", NoticeDetail.as_view(), name="api-notice"),
    path("notices/<int:pk>/sign/", NoticeSign.as_view(), name="api-notice-sign"),
    path("notices/<int:pk>/reply/", NoticeReply.as_view(), name="api-notice-reply"),
    path("notices/<int:pk>/close/", NoticeClose.as_view(), name="api-notice-close"),
    path("notices/<int:pk>/reopen/", NoticeReopen.as_view(), name="api-notice-reopen"),
    path("extension-requests/", ExtensionListCreate.as_view(), name="api-extensions"),
    path("extension-requests/<int:pk>/", ExtensionDetail.as_view(), name="api-extension"),
    path("extension-requests/<int:pk>/approve/", ExtensionApprove.as_view(), name="api-extension-approve"),
    path("extension-requests/<int:pk>/reject/", ExtensionReject.as_view(), name="api-extension-reject"),
]
