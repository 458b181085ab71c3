"""reminders API: the caller's own notifications (inbox).

GET  /api/notifications/            id, kind, message, created_at, read (paginated; ?unread=true for unread only)
POST /api/notifications/{id}/read/  marks it read; someone else's id answers 404
"""

from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Notification
from ..reminders import notification_mark_read, notifications_visible_to


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "message", "link", "created_at", "read"]
        read_only_fields = fields


class NotificationList(generics.ListAPIView):
    serializer_class = NotificationSerializer
    permission_classes = [IsAuthenticated]
    filter_backends: list = []

    def get_queryset(self):
        qs = notifications_visible_to(user=self.request.user)
        if self.request.query_params.get("unread") in ("true", "1"):
            qs = qs.filter(read_at__isnull=True)
        return qs

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="只列未读消息")],
        summary="我的消息（站内信）",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class NotificationRead(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=NotificationSerializer, summary="标为已读")
    def post(self, request, pk: int):
        note = get_object_or_404(notifications_visible_to(user=request.user), pk=pk)
        notification_mark_read(notification=note, now=timezone.now())
        return Response(NotificationSerializer(note).data)


urlpatterns: list = [
    path("notifications/", NotificationList.as_view(), name="notification-list"),
    path("notifications/<int:pk>/read/", NotificationRead.as_view(), name="notification-read"),
]
