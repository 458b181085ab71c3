from django.contrib.auth import logout
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import ApiToken, Unit
from .services import ApplicationError, PermissionDeniedError, audit_log, request_ip
from .tokens import token_issue, token_revoke


class UnitSerializer(serializers.ModelSerializer):
    aliases = serializers.SerializerMethodField()

    class Meta:
        model = Unit
        fields = ["id", "name", "short_name", "kind", "aliases"]

    def get_aliases(self, obj) -> list[str]:
        return [a.alias for a in obj.aliases.all()]


class UnitList(generics.ListAPIView):
    serializer_class = UnitSerializer
    filterset_fields = ["kind"]

    def get_queryset(self):
        return (
            Unit.objects.filter(deleted_at__isnull=True)
            .prefetch_related("aliases")
            .order_by("kind", "sort_order", "name")
        )


class TokenView(APIView):
    """Exchange username and password for a new API token (one per sign-in; `name` labels the client)."""

    authentication_classes: list = []
    permission_classes: list = []
    serializer_class = AuthTokenSerializer

    @extend_schema(
        request=inline_serializer(
            "TokenRequest",
            {
                "username": serializers.CharField(),
                "password": serializers.CharField(),
                "name": serializers.CharField(required=False, help_text="客户端名称，便于在令牌列表中区分"),
            },
        ),
        responses=inline_serializer(
            "TokenResponse", {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()}
        ),
    )
    def post(self, request, *args, **kwargs):
        serializer = self.serializer_class(data=request.data, context={"request": request})
        if not serializer.is_valid():
            locked = getattr(
                request, "login_blocked", None
            )  # set by departments.security.LockoutModelBackend
            if locked:
                error = ApplicationError(locked)
                error.status_code = 429
                raise error
            raise ApplicationError("用户名或密码错误，或账号已停用。")
        user = serializer.validated_data["user"]
        if user.must_change_password:
            raise PermissionDeniedError("您的密码由他人设置或重置，请先登录网页修改密码，再获取 API 令牌。")
        name = request.data.get("name", "") if hasattr(request.data, "get") else ""
        token, key = token_issue(user=user, name=str(name or ""), ip=request_ip(request))
        audit_log(
            actor=user,
            action="login",
            object_type="login",
            object_id=user.get_username()[:40],
            request=request,
            message=f"API 令牌登录成功（令牌 {token.prefix}…）",
        )
        return Response({"token": key, "expires_at": token.expires_at})


class LogoutView(APIView):
    """Revoke the token this request was made with (a browser session is ended instead)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if isinstance(request.auth, ApiToken):
            token_revoke(token=request.auth, reason="logout")
            audit_log(
                actor=request.user,
                action="token_revoke",
                obj=request.auth,
                request=request,
                message="退出登录，令牌吊销",
            )
        else:
            logout(request)
        return Response(status=204)


class ApiTokenSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "created_ip", "last_used_at", "expires_at", "current"]

    def get_current(self, obj) -> bool:
        auth = self.context["request"].auth
        return isinstance(auth, ApiToken) and auth.pk == obj.pk


class TokenList(generics.ListAPIView):
    """The caller's own live tokens."""

    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema is generated without a signed-in user
            return ApiToken.objects.none()
        now = timezone.now()
        return ApiToken.objects.filter(user=self.request.user, revoked_at__isnull=True, expires_at__gt=now)


class TokenDetail(generics.GenericAPIView):
    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user, revoked_at__isnull=True)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        token = get_object_or_404(self.get_queryset(), pk=pk)
        token_revoke(token=token, reason="revoked_by_owner")
        audit_log(
            actor=request.user, action="token_revoke", obj=token, request=request, message="用户吊销令牌"
        )
        return Response(status=204)


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    path("auth/tokens/", TokenList.as_view(), name="api-tokens"),
    path("auth/tokens/<int:pk>/", TokenDetail.as_view(), name="api-token-detail"),
    path("units/", UnitList.as_view(), name="api-units"),
]
