"""Roll-up and dashboard API (CONTRACT.md):

- GET /api/rollups/departments/?period=ID and /api/rollups/counties/?period=ID: one row per unit with exactly
  unit, tasks, completed, on_track, overdue, reports_due, reports_on_time, reports_late, reports_missing,
  targets_met, targets_total; paginated like every list. Without `period`, the open period.
- GET /api/dashboard/overdue/?period=ID&limit=N: overdue (red, oldest first), due_soon (yellow), units (ranked by
  overdue count, then on-time rate), plus the counts, on-time rates and targets at risk.

Definitions: reports.rollups. Same permission rule as the pages (`figures.read` in departments.permissions; a
reporter gets its own unit's row only).
"""

from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from departments.permissions import HasCapability
from departments.services import ApplicationError
from reform_ledger.drf import Pagination
from reform_ledger.params import is_id
from reports import dashboard as dash
from reports import rollups

PERIOD_PARAM = OpenApiParameter("period", OpenApiTypes.INT, description="填报期编号；不填为当前开放的填报期")


class RollupRowSerializer(serializers.Serializer):
    unit = serializers.CharField(help_text="单位规范名称")
    tasks = serializers.IntegerField()
    completed = serializers.IntegerField()
    on_track = serializers.IntegerField()
    overdue = serializers.IntegerField()
    reports_due = serializers.IntegerField()
    reports_on_time = serializers.IntegerField()
    reports_late = serializers.IntegerField()
    reports_missing = serializers.IntegerField()
    targets_met = serializers.IntegerField()
    targets_total = serializers.IntegerField()


class TaskItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    document = serializers.CharField()
    path = serializers.CharField(source="path_key")
    title = serializers.CharField()
    lead_units = serializers.ListField(child=serializers.CharField())
    due = serializers.DateField(source="open_due", allow_null=True)
    days = serializers.IntegerField(help_text="超期天数（overdue）或剩余天数（due_soon）")
    light = serializers.CharField()
    light_reason = serializers.CharField()


class RankItemSerializer(serializers.Serializer):
    unit_id = serializers.IntegerField()
    unit = serializers.CharField()
    kind = serializers.CharField()
    overdue = serializers.IntegerField()
    tasks = serializers.IntegerField()
    reports_due = serializers.IntegerField()
    reports_on_time = serializers.IntegerField()
    on_time_rate = serializers.FloatField(allow_null=True)
    behind = serializers.IntegerField(help_text="欠进度任务数")


class TargetItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    task_id = serializers.IntegerField()
    task_path = serializers.CharField()
    label = serializers.CharField()
    due = serializers.DateField()
    latest_value = serializers.DecimalField(
        max_digits=14, decimal_places=4, allow_null=True, coerce_to_string=False
    )
    days_left = serializers.IntegerField()


class DashboardSerializer(serializers.Serializer):
    period = serializers.IntegerField(source="period.pk")
    today = serializers.DateField()
    overdue = TaskItemSerializer(many=True)
    overdue_count = serializers.IntegerField()
    due_soon = TaskItemSerializer(many=True)
    due_soon_count = serializers.IntegerField()
    units = RankItemSerializer(many=True)
    on_time_rate = serializers.FloatField(allow_null=True)
    on_time_rate_previous = serializers.FloatField(allow_null=True)
    targets_at_risk = TargetItemSerializer(many=True)
    targets_at_risk_count = serializers.IntegerField()
    pace_counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="序时进度：completed / ahead / on_pace / behind / not_started / unknown 各多少项任务",
    )


class _RollupView(ListAPIView):
    """A list view (so the schema shows the paginated {count, next, previous, results} object with page and
    page_size) over the roll-up rows, which are computed, not a queryset."""

    permission_classes = [HasCapability.of("figures.read")]
    serializer_class = RollupRowSerializer
    pagination_class = Pagination
    filter_backends: list = []
    county = False

    def list(self, request, *args, **kwargs):
        today = timezone.localdate()
        period = rollups.period_resolve(value=request.query_params.get("period"), today=today)
        select = rollups.rollup_by_county if self.county else rollups.rollup_by_department
        rows = select(period=period, today=today, user=request.user).rows
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(
    parameters=[PERIOD_PARAM],
    summary="按部门汇总：每个单位一行",
)
class RollupDepartments(_RollupView):
    county = False


@extend_schema(
    parameters=[PERIOD_PARAM],
    summary="按县(市、区)汇总：每个县区一行",
)
class RollupCounties(_RollupView):
    county = True


@extend_schema(
    parameters=[
        PERIOD_PARAM,
        OpenApiParameter(
            "limit", OpenApiTypes.INT, description="超期、临期任务和风险指标各返回多少项（默认 50，最多 500）"
        ),
    ],
    responses=DashboardSerializer,
    summary="超期看板",
)
class DashboardOverdue(APIView):
    permission_classes = [HasCapability.of("figures.read")]

    def get(self, request):
        today = timezone.localdate()
        period = rollups.period_resolve(value=request.query_params.get("period"), today=today)
        raw = (request.query_params.get("limit") or "").strip()
        if raw and (not is_id(raw) or not 1 <= int(raw) <= 500):
            raise ApplicationError(f"参数“limit”的值“{raw}”无效，应为 1 到 500 之间的整数。", field="limit")
        limit = int(raw) if raw else dash.DASHBOARD_LIMIT
        data = dash.dashboard_overdue(today=today, user=request.user, period=period, limit=limit)
        return Response(DashboardSerializer(data).data)


urlpatterns: list = [
    path("rollups/departments/", RollupDepartments.as_view(), name="api-rollup-departments"),
    path("rollups/counties/", RollupCounties.as_view(), name="api-rollup-counties"),
    path("dashboard/overdue/", DashboardOverdue.as_view(), name="api-dashboard-overdue"),
]
