from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from departments.permissions import LedgerWritePermission, can_edit_ledger
from departments.services import ApplicationError
from reform_ledger.params import is_id

from .deadlines import year_of_plan
from .lights import task_light
from .models import Document, Target
from .pace import PaceInfo, task_pace
from .selectors import TaskFilterError, task_list_prefetch, tasks_filter, tasks_sorted, tasks_visible_to
from .services import (
    TargetData,
    TaskData,
    milestones_read,
    parse_date,
    parse_decimal,
    task_create,
    task_update,
)


def _number(v):
    if v is None:
        return None
    return int(v) if v == v.to_integral_value() else float(v)


class DocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = ["id", "doc_number", "title", "issuer", "issued_on"]


class DocumentList(generics.ListAPIView):
    serializer_class = DocumentSerializer
    queryset = Document.objects.order_by("issued_on", "id")


class TargetOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    indicator = serializers.CharField()
    op = serializers.CharField()
    value = serializers.SerializerMethodField()
    unit = serializers.CharField()
    due = serializers.DateField(allow_null=True)
    baseline = serializers.SerializerMethodField()
    latest_value = serializers.SerializerMethodField()
    latest = serializers.SerializerMethodField(help_text="最新填报值（序时进度用）")
    expected_now = serializers.SerializerMethodField(
        help_text="序时进度：按基线到目标值的直线，今天应达到的值"
    )
    text = serializers.CharField()

    @extend_schema_field(OpenApiTypes.ANY)
    def get_value(self, t: Target):
        if t.op == Target.Op.BETWEEN:
            return [_number(t.value), _number(t.value_high)]
        return _number(t.value)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_baseline(self, t):
        return _number(t.baseline)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_latest_value(self, t):
        return _number(t.latest_value)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_latest(self, t):
        return _number(t.latest_value)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_expected_now(self, t):
        info = self.context.get("_paces", {}).get(t.task_id)
        return _number(info.expected.get(t.pk)) if info else None


class MilestoneOutSerializer(serializers.Serializer):
    date = serializers.DateField(allow_null=True)
    text = serializers.CharField()


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    document = serializers.CharField(source="document.doc_number", read_only=True)
    document_id = serializers.IntegerField(read_only=True)
    path = serializers.ListField(child=serializers.CharField(), read_only=True)
    title = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)
    note = serializers.CharField(read_only=True)
    lead_units = serializers.SerializerMethodField()
    responsible_units = serializers.SerializerMethodField()
    counties = serializers.SerializerMethodField()
    deadline = serializers.DateField(read_only=True, allow_null=True)
    next_due = serializers.DateField(source="open_due", read_only=True, allow_null=True)
    milestones = MilestoneOutSerializer(many=True, read_only=True)
    targets = TargetOutSerializer(many=True, read_only=True)
    status = serializers.CharField(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    light = serializers.SerializerMethodField()
    light_reason = serializers.SerializerMethodField()
    pace = serializers.SerializerMethodField(
        help_text="序时进度：completed / ahead / on_pace / behind / not_started / unknown"
    )
    pace_label = serializers.SerializerMethodField()
    pace_reason = serializers.SerializerMethodField()
    version = serializers.IntegerField(read_only=True)

    def to_representation(self, instance):
        self._pace(instance)  # before the nested targets, which read expected_now from it
        return super().to_representation(instance)

    def _pace(self, obj) -> PaceInfo:
        cache = self.context.setdefault("_paces", {})
        if obj.pk not in cache:
            cache[obj.pk] = task_pace(obj, today=self.context["today"])
        return cache[obj.pk]

    def get_pace(self, obj) -> str:
        return self._pace(obj).pace

    def get_pace_label(self, obj) -> str:
        return self._pace(obj).label

    def get_pace_reason(self, obj) -> str:
        return self._pace(obj).reason

    def _light(self, obj):
        cache = self.context.setdefault("_lights", {})
        if obj.pk not in cache:
            cache[obj.pk] = task_light(obj, today=self.context["today"])
        return cache[obj.pk]

    def get_lead_units(self, obj) -> list[str]:
        return [u.name for u in obj.lead_units]

    def get_responsible_units(self, obj) -> list[str]:
        return [u.name for u in obj.responsible_units]

    def get_counties(self, obj) -> list[str]:
        return [u.name for u in obj.counties]

    def get_light(self, obj) -> str:
        return self._light(obj).light

    def get_light_reason(self, obj) -> str:
        return self._light(obj).reason


class MilestoneInSerializer(serializers.Serializer):
    date = serializers.CharField(allow_null=True, allow_blank=True, required=False)
    text = serializers.CharField(allow_blank=True, required=False, default="")


class TargetInSerializer(serializers.Serializer):
    indicator = serializers.CharField()
    op = serializers.CharField()
    value = serializers.JSONField()
    unit = serializers.CharField(allow_blank=True, required=False, default="")
    due = serializers.CharField(allow_null=True, allow_blank=True, required=False)
    baseline = serializers.JSONField(required=False, allow_null=True)
    text = serializers.CharField(allow_blank=True, required=False, default="")


class TaskWriteSerializer(serializers.Serializer):
    document = serializers.CharField(required=False, help_text="文号或文件 id（新建时必填）")
    path = serializers.JSONField(required=False, help_text='["二","(一)","1"] 或 "二.(一).1"')
    title = serializers.CharField(required=False, allow_blank=True)
    text = serializers.CharField(required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True)
    status = serializers.CharField(required=False)
    lead_units = serializers.ListField(child=serializers.CharField(), required=False)
    responsible_units = serializers.ListField(child=serializers.CharField(), required=False)
    counties = serializers.ListField(child=serializers.CharField(), required=False)
    milestones = MilestoneInSerializer(many=True, required=False)
    targets = TargetInSerializer(many=True, required=False)
    version = serializers.IntegerField(required=False)


def _path(value) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [p for p in value.replace("．", ".").split(".") if p.strip()]
    if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value) or not value:
        raise ApplicationError('编号应为编号列表，例如 ["二", "(一)", "1"]。', field="path")
    return [p.strip() for p in value]


def task_data_from(validated: dict, *, document=None) -> TaskData:
    """Turn validated API/form input into TaskData, with Chinese messages naming the field."""
    data = TaskData(
        title=validated.get("title"),
        text=validated.get("text"),
        note=validated.get("note"),
        status=validated.get("status"),
        path=_path(validated.get("path")),
        lead_units=validated.get("lead_units"),
        responsible_units=validated.get("responsible_units"),
        counties=validated.get("counties"),
    )
    if "milestones" in validated:
        # A date may be given as a phrase (2022年6月底前, 年底前): read against the plan's year.
        year = year_of_plan(document.doc_number, document.title) if document is not None else None
        data.milestones = milestones_read(
            [(m.get("date"), m.get("text") or "") for m in validated["milestones"]], year=year
        )
    if "targets" in validated:
        targets = []
        for i, t in enumerate(validated["targets"], start=1):
            value, high = t.get("value"), None
            if isinstance(value, list):
                if len(value) != 2:
                    raise ApplicationError(f"第 {i} 个指标的目标值区间应为两个数字。", field="targets")
                value, high = value
            label = f"第 {i} 个指标的目标值"
            targets.append(
                TargetData(
                    indicator=t["indicator"],
                    op=t["op"],
                    value=parse_decimal(value, field_name="targets", label=label),
                    value_high=parse_decimal(high, field_name="targets", label=label),
                    unit=t.get("unit") or "",
                    due=parse_date(t.get("due"), field_name="targets", label=f"第 {i} 个指标的到期日"),
                    baseline=parse_decimal(
                        t.get("baseline"), field_name="targets", label=f"第 {i} 个指标的基线值"
                    ),
                    text=t.get("text") or "",
                )
            )
        data.targets = targets
    return data


def _today():
    from django.utils import timezone

    return timezone.localdate()


TASK_FILTER_PARAMS = [
    OpenApiParameter("document", str, description="文号或文件 id"),
    OpenApiParameter("lead_unit", str, description="牵头单位（名称、别名或 id）"),
    OpenApiParameter("unit", str, description="牵头或责任单位（名称、别名或 id）"),
    OpenApiParameter("county", str, description="县(市、区)（名称或 id）"),
    OpenApiParameter("status", str, description="not_started / in_progress / completed / lagging 或中文"),
    OpenApiParameter("light", str, description="overdue / due_soon / normal / done 或中文"),
    OpenApiParameter(
        "pace", str, description="序时进度：completed / ahead / on_pace / behind / not_started / unknown"
    ),
    OpenApiParameter("overdue", bool),
    OpenApiParameter("search", str),
    OpenApiParameter(
        "sort", str, description="path, -path, deadline, -deadline, title, status, light, -light"
    ),
]


class TaskListCreate(generics.GenericAPIView):
    permission_classes = [LedgerWritePermission]
    serializer_class = TaskSerializer

    def get_queryset(self):
        return tasks_visible_to(user=self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": _today()}

    @extend_schema(
        operation_id="tasks_list",
        parameters=TASK_FILTER_PARAMS
        + [
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="每页条数，最多 500"),
        ],
        responses=inline_serializer(
            "PaginatedTaskList",
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": TaskSerializer(many=True),
            },
        ),
    )
    def get(self, request):
        try:
            qs = tasks_filter(self.get_queryset(), params=request.query_params, today=_today())
        except TaskFilterError as e:
            raise ApplicationError(e.message, field=e.field) from None
        qs = task_list_prefetch(tasks_sorted(qs, sort=request.query_params.get("sort"), today=_today()))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=TaskWriteSerializer, responses={201: TaskSerializer})
    def post(self, request):
        incoming = TaskWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        ref = (incoming.validated_data.get("document") or "").strip()
        if not ref:
            raise ApplicationError("新建任务需要指定文件（文号或文件编号）。", field="document")
        doc = Document.objects.filter(doc_number=ref).first() or (
            Document.objects.filter(pk=int(ref)).first() if is_id(ref) else None
        )
        if doc is None:
            raise ApplicationError(f"找不到文件“{ref}”。", field="document")
        data = task_data_from(incoming.validated_data, document=doc)
        task = task_create(document=doc, data=data, actor=request.user, request=request)
        return Response(self.get_serializer(task).data, status=status.HTTP_201_CREATED)


class TaskDetail(generics.GenericAPIView):
    # Reads are narrowed by the selector; the write check comes after the lookup so that a task the caller
    # cannot see answers 404 rather than 403.
    permission_classes = [IsAuthenticated]
    serializer_class = TaskSerializer

    def get_queryset(self):
        return task_list_prefetch(tasks_visible_to(user=self.request.user))

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": _today()}

    def get(self, request, pk):
        return Response(self.get_serializer(get_object_or_404(self.get_queryset(), pk=pk)).data)

    @extend_schema(request=TaskWriteSerializer)
    def patch(self, request, pk):
        task = get_object_or_404(self.get_queryset(), pk=pk)
        if not can_edit_ledger(request.user):
            raise PermissionDenied(LedgerWritePermission.message)
        incoming = TaskWriteSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        if "version" not in incoming.validated_data:
            raise ApplicationError("缺少版本号：请提交读取任务时得到的版本号。", field="version")
        data = task_data_from(incoming.validated_data, document=task.document)
        task = task_update(
            task=task,
            data=data,
            version=incoming.validated_data["version"],
            actor=request.user,
            request=request,
        )
        return Response(self.get_serializer(task).data)


urlpatterns = [
    path("documents/", DocumentList.as_view(), name="api-documents"),
    path("tasks/", TaskListCreate.as_view(), name="api-tasks"),
    path("tasks/<int:pk>/", TaskDetail.as_view(), name="api-task"),
]
