"""reporting API: periods, reports and the review workflow (see /work/shared/CONTRACT.md).

- ``GET /api/periods/`` (everyone signed in), ``POST /api/periods/`` (secretariat: open a period),
  ``PATCH /api/periods/{id}/`` (secretariat: due date, is_open).
- ``GET/POST /api/reports/``, ``GET/PATCH /api/reports/{id}/`` (PATCH carries ``version``; stale → 409).
- ``POST /api/reports/{id}/submit/``, ``/return/`` (reason), ``/accept/``, ``/reopen/`` (reason).

Reports a user may not see answer 404 (``reports_visible_to``); actions on visible reports the user may not
take answer 403 (``report_can_edit`` / ``report_can_review``).
"""

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from departments.models import Unit
from departments.permissions import has
from departments.services import ApplicationError, ConflictError, PermissionDeniedError
from reform_ledger.db import retry_transaction
from reform_ledger.params import is_id
from tasks.selectors import tasks_visible_to

from ..models import Period, Report, ReportStatus
from ..period_services import period_close, period_open, period_set_due_date
from ..periods import period_resolve
from ..selectors import periods_all, report_as_read_by, report_can_edit, report_can_review, reports_visible_to
from ..services import (
    attachment_add,
    report_accept,
    report_get_or_create_for,
    report_reopen,
    report_return,
    report_save_draft,
    report_submit,
)


def _number(v):
    if v is None:
        return None
    return int(v) if v == v.to_integral_value() else float(v)


# --------------------------------------------------------------------------------------------------- periods


class PeriodSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)
    due_at = serializers.DateTimeField(read_only=True)

    class Meta:
        model = Period
        fields = ["id", "year", "quarter", "due_date", "is_open", "label", "due_at"]


PeriodIn = inline_serializer(
    "PeriodIn",
    {
        "year": serializers.IntegerField(),
        "quarter": serializers.IntegerField(),
        "due_date": serializers.DateField(required=False, help_text="默认：季度末月 20 日"),
    },
)


class PeriodListCreate(generics.ListAPIView):
    serializer_class = PeriodSerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = periods_all()
        is_open = (self.request.query_params.get("is_open") or "").lower()
        if is_open in ("true", "1"):
            qs = qs.filter(is_open=True)
        elif is_open in ("false", "0"):
            qs = qs.filter(is_open=False)
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("is_open", bool, description="只看开放（true）或已关闭（false）的填报期")
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=PeriodIn, responses={201: PeriodSerializer, 200: PeriodSerializer})
    def post(self, request):
        if not has(request.user, "periods.manage"):
            raise PermissionDeniedError("只有医改办工作人员可以开启填报期。")
        data = _body(request)  # a JSON list or string is refused with a message, not a 500
        for name, label in (("year", "年度"), ("quarter", "季度")):
            if data.get(name) in (None, ""):
                raise ApplicationError(f"请填写{label}。", field=name)
        period, created = period_open(
            year=data.get("year"),
            quarter=data.get("quarter"),
            due_date=data.get("due_date"),
            actor=request.user,
        )
        return Response(
            self.get_serializer(period).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PeriodDetail(generics.GenericAPIView):
    serializer_class = PeriodSerializer

    def get(self, request, pk):
        return Response(self.get_serializer(get_object_or_404(periods_all(), pk=pk)).data)

    @extend_schema(
        request=inline_serializer(
            "PeriodPatch",
            {
                "due_date": serializers.DateField(required=False),
                "is_open": serializers.BooleanField(required=False),
            },
        )
    )
    def patch(self, request, pk):
        period = get_object_or_404(periods_all(), pk=pk)
        if not has(request.user, "periods.manage"):
            raise PermissionDeniedError("只有医改办工作人员可以修改填报期。")
        period = _period_change(period=period, data=_body(request), actor=request.user)
        return Response(self.get_serializer(period).data)


# --------------------------------------------------------------------------------------------------- reports


class TargetValueOut(serializers.Serializer):
    target = serializers.IntegerField(source="target_id")
    value = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.NUMBER)
    def get_value(self, obj):
        return _number(obj.value)


class AttachmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, obj) -> str:
        from django.urls import reverse

        return reverse("reports:attachment", args=[obj.pk])


class ReportSerializer(serializers.ModelSerializer):
    task = serializers.IntegerField(source="task_id")
    unit = serializers.IntegerField(source="unit_id")
    period = serializers.IntegerField(source="period_id")
    progress = serializers.CharField(
        source="get_progress_display", help_text="未启动 / 推进中 / 已完成 / 滞后"
    )
    progress_code = serializers.CharField(source="progress")
    status_label = serializers.CharField(source="get_status_display")
    unit_name = serializers.CharField(source="unit.name")
    task_path = serializers.CharField(source="task.path_key")
    task_title = serializers.CharField(source="task.title")
    period_label = serializers.CharField(source="period.label")
    target_values = TargetValueOut(many=True)
    attachments = AttachmentOut(many=True)

    def to_representation(self, instance):
        request = self.context.get("request")
        if request is not None:
            instance = report_as_read_by(user=request.user, report=instance)
        return super().to_representation(instance)

    class Meta:
        model = Report
        fields = [
            "id",
            "task",
            "unit",
            "period",
            "status",
            "progress",
            "percent",
            "text",
            "problems",
            "next_steps",
            "target_values",
            "submitted_at",
            "is_late",
            "version",
            "first_submitted_at",
            "return_reason",
            "reviewed_at",
            "progress_code",
            "status_label",
            "unit_name",
            "task_path",
            "task_title",
            "period_label",
            "attachments",
        ]
        read_only_fields = fields


REPORT_FIELDS_IN = {
    "progress": serializers.CharField(
        required=False, help_text="未启动 / 推进中 / 已完成 / 滞后（或 not_started 等）"
    ),
    "percent": serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100),
    "text": serializers.CharField(required=False, allow_blank=True),
    "problems": serializers.CharField(required=False, allow_blank=True),
    "next_steps": serializers.CharField(required=False, allow_blank=True),
    "target_values": serializers.ListField(child=serializers.DictField(), required=False),
}
ReportCreateIn = inline_serializer(
    "ReportCreateIn",
    {
        "task": serializers.IntegerField(),
        "period": serializers.IntegerField(required=False, help_text="默认：当前开放的填报期"),
        "unit": serializers.IntegerField(required=False, help_text="默认：本人所属单位"),
        **REPORT_FIELDS_IN,
    },
)
ReportPatchIn = inline_serializer(
    "ReportPatchIn", {"version": serializers.IntegerField(), **REPORT_FIELDS_IN}
)
ReasonIn = inline_serializer(
    "ReasonIn", {"reason": serializers.CharField(), "version": serializers.IntegerField(required=False)}
)
VersionIn = inline_serializer("VersionIn", {"version": serializers.IntegerField(required=False)})
CONTENT_KEYS = ("progress", "percent", "text", "problems", "next_steps", "target_values")

REPORT_FILTERS = [
    OpenApiParameter("period", int, description="填报期 id"),
    OpenApiParameter("unit", str, description="单位 id 或名称"),
    OpenApiParameter("task", int, description="任务 id"),
    OpenApiParameter("status", str, description="draft / submitted / returned / accepted（或中文）"),
]


def _int_param(params, name, label):
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    if not is_id(raw):
        raise ApplicationError(f"筛选条件“{label}”的值“{raw}”无效，应为编号。", field=name)
    return int(raw)


@retry_transaction
def _period_change(*, period, data: dict, actor):
    if "due_date" in data:
        period = period_set_due_date(period=period, due_date=data["due_date"], actor=actor)
    if "is_open" in data:
        value = data["is_open"]
        if value not in (True, False, "true", "false"):
            raise ApplicationError(
                f"筛选条件“是否开放”的值“{value}”无效，应为 true 或 false。", field="is_open"
            )
        if value in (True, "true"):
            period, _ = period_open(year=period.year, quarter=period.quarter, actor=actor)
        else:
            period = period_close(period=period, actor=actor)
    return period


def _body(request) -> dict:
    if not hasattr(request.data, "get"):
        raise ApplicationError("请求内容应为 JSON 对象。")
    return request.data


def _full(report_id: int, user) -> Report:
    return reports_visible_to(user=user).prefetch_related("target_values", "attachments").get(pk=report_id)


class ReportListCreate(generics.ListAPIView):
    serializer_class = ReportSerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = reports_visible_to(user=self.request.user).prefetch_related("target_values", "attachments")
        params = self.request.query_params
        period = _int_param(params, "period", "填报期")
        if period is not None:
            qs = qs.filter(period_id=period)
        task = _int_param(params, "task", "任务")
        if task is not None:
            qs = qs.filter(task_id=task)
        unit = (params.get("unit") or "").strip()
        if unit:
            if is_id(unit):
                qs = qs.filter(unit_id=int(unit))
            else:
                from departments.selectors import unit_resolve

                found = unit_resolve(name=unit)
                if found is None:
                    raise ApplicationError(f"筛选条件“单位”的值“{unit}”不是已知单位。", field="unit")
                qs = qs.filter(unit=found)
        status_raw = (params.get("status") or "").strip()
        if status_raw:
            value = next((c.value for c in ReportStatus if status_raw in (c.value, c.label)), None)
            if value is None:
                raise ApplicationError(
                    f"筛选条件“状态”的值“{status_raw}”无效，可选：draft、submitted、returned、accepted。",
                    field="status",
                )
            qs = qs.filter(status=value)
        return qs.order_by(
            "-period__year", "-period__quarter", "task__document_id", "task__sort_key", "unit__name"
        )

    @extend_schema(parameters=REPORT_FILTERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ReportCreateIn, responses={201: ReportSerializer, 200: ReportSerializer})
    def post(self, request):
        """Start (or fetch) the caller's unit's report on a task for a period, optionally with content."""
        data = _body(request)
        user = request.user
        if not has(user, "reports.write"):
            raise PermissionDeniedError("只有单位填报员可以填写报告。")
        task_id = data.get("task")
        if task_id in (None, ""):
            raise ApplicationError("请指定任务。", field="task")
        if not is_id(str(task_id)):
            raise ApplicationError(f"任务编号“{task_id}”无效。", field="task")
        task = tasks_visible_to(user=user).filter(pk=int(task_id)).first()
        if task is None:
            raise ApplicationError(f"任务 {task_id} 不存在或不是本单位承担的任务。", field="task")
        period_id = data.get("period")
        period = period_resolve(value=period_id)
        if period_id in (None, "") and not period.is_open:
            raise ApplicationError("当前没有开放的填报期。", field="period")
        unit_id = data.get("unit")
        if unit_id not in (None, "") and str(unit_id) != str(user.unit_id):
            raise PermissionDeniedError("只能填写本单位的报告。")
        unit = Unit.objects.get(pk=user.unit_id)
        content = {k: data[k] for k in CONTENT_KEYS if k in data}
        report, created = _create_report(task=task, unit=unit, period=period, content=content, user=user)
        return Response(
            self.get_serializer(_full(report.pk, user)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@retry_transaction
def _create_report(*, task, unit, period, content, user):
    """The report and its first content in one transaction, run again whole if the database aborted it (deadlock)."""
    report, created = report_get_or_create_for(task=task, unit=unit, period=period, actor=user)
    if content and not created:
        # One report per task, unit and period: a second POST never overwrites the first one's content.
        raise ConflictError(
            f"本单位在{period.label}已有该任务的报告（编号 {report.pk}，版本 {report.version}），"
            f"请带上读取时的版本号修改该报告（PATCH /api/reports/{report.pk}/）。",
            field="task",
            extra={"id": report.pk, "current_version": report.version},
        )
    if content:
        report_save_draft(report=report, data=content, version=None, actor=user)
    return report, created


class ReportDetail(generics.GenericAPIView):
    serializer_class = ReportSerializer

    def get_queryset(self):
        return reports_visible_to(user=self.request.user).prefetch_related("target_values", "attachments")

    def get(self, request, pk):
        return Response(self.get_serializer(get_object_or_404(self.get_queryset(), pk=pk)).data)

    @extend_schema(request=ReportPatchIn)
    def patch(self, request, pk):
        report = get_object_or_404(self.get_queryset(), pk=pk)
        if not report_can_edit(user=request.user, report=report):
            raise PermissionDeniedError("只能修改本单位的报告。")
        data = _body(request)
        if data.get("version") in (None, ""):
            raise ApplicationError("缺少版本号：请提交读取报告时得到的版本号。", field="version")
        unknown = [
            k for k in data if k not in (*CONTENT_KEYS, "version", "id", "task", "unit", "period", "status")
        ]
        if unknown:
            raise ApplicationError(f"不能修改的字段：{'、'.join(unknown)}。", field=unknown[0])
        content = {k: data[k] for k in CONTENT_KEYS if k in data}
        report_save_draft(report=report, data=content, version=data.get("version"), actor=request.user)
        return Response(self.get_serializer(_full(report.pk, request.user)).data)


class _ReportAction(generics.GenericAPIView):
    """One workflow action on a visible report; each subclass defines `act(report, data, version)`."""

    serializer_class = ReportSerializer
    needs_reason = False

    def get_queryset(self):
        return reports_visible_to(user=self.request.user)

    def post(self, request, pk):
        report = get_object_or_404(self.get_queryset(), pk=pk)
        data = _body(request)
        self.check_may(request.user, report)
        version = data.get("version")
        if version in ("",):
            version = None
        self.act(report, data, version)
        return Response(self.get_serializer(_full(report.pk, request.user)).data)

    def check_may(self, user, report):
        if not report_can_review(user=user):
            raise PermissionDeniedError("只有医改办工作人员可以审核报告。")


class ReportSubmit(_ReportAction):
    @extend_schema(request=VersionIn, responses=ReportSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def check_may(self, user, report):
        if not report_can_edit(user=user, report=report):
            raise PermissionDeniedError("只能提交本单位的报告。")

    def act(self, report, data, version):
        report_submit(report=report, actor=self.request.user, version=version)


class ReportReturn(_ReportAction):
    @extend_schema(request=ReasonIn, responses=ReportSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, report, data, version):
        report_return(
            report=report, reason=str(data.get("reason") or ""), actor=self.request.user, version=version
        )


class ReportAccept(_ReportAction):
    @extend_schema(request=VersionIn, responses=ReportSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, report, data, version):
        report_accept(report=report, actor=self.request.user, version=version)


class ReportReopen(_ReportAction):
    @extend_schema(request=ReasonIn, responses=ReportSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, report, data, version):
        report_reopen(
            report=report, reason=str(data.get("reason") or ""), actor=self.request.user, version=version
        )


class ReportAttachments(generics.GenericAPIView):
    """Upload an attachment (multipart field ``file``) to a draft or returned report of the caller's unit."""

    serializer_class = AttachmentOut
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": inline_serializer("AttachmentIn", {"file": serializers.FileField()})},
        responses={201: AttachmentOut},
    )
    def post(self, request, pk):
        report = get_object_or_404(reports_visible_to(user=request.user), pk=pk)
        if not report_can_edit(user=request.user, report=report):
            raise PermissionDeniedError("只能给本单位的报告上传附件。")
        upload = request.FILES.get("file")
        if upload is None:
            raise ApplicationError("请上传附件文件。", field="file")
        attachment = attachment_add(report=report, file=upload, actor=request.user)
        return Response(AttachmentOut(attachment).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("periods/", PeriodListCreate.as_view(), name="api-periods"),
    path("periods/<int:pk>/", PeriodDetail.as_view(), name="api-period"),
    path("reports/", ReportListCreate.as_view(), name="api-reports"),
    path("reports/<int:pk>/", ReportDetail.as_view(), name="api-report"),
    path("reports/<int:pk>/submit/", ReportSubmit.as_view(), name="api-report-submit"),
    path("reports/<int:pk>/return/", ReportReturn.as_view(), name="api-report-return"),
    path("reports/<int:pk>/accept/", ReportAccept.as_view(), name="api-report-accept"),
    path("reports/<int:pk>/reopen/", ReportReopen.as_view(), name="api-report-reopen"),
    path("reports/<int:pk>/attachments/", ReportAttachments.as_view(), name="api-report-attachments"),
]
