from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.authtoken.views import ObtainAuthToken

from .models import Unit


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
        return Unit.objects.filter(deleted_at__isnull=True).prefetch_related("aliases").order_by("kind", "sort_order", "name")


class TokenView(ObtainAuthToken):
    """Exchange username and password for an API token."""

    @extend_schema(
        request=inline_serializer("TokenRequest", {"username": serializers.CharField(), "password": serializers.CharField()}),
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
    )
    def post(self, request, *args, **kwargs):
        serializer = self.serializer_class(data=request.data, context={"request": request})
        if not serializer.is_valid():
            from departments.services import ApplicationError

            locked = getattr(request, "login_blocked", None)  # set by departments.security.LockoutModelBackend
            if locked:
                error = ApplicationError(locked)
                error.status_code = 429
                raise error
            raise ApplicationError("用户名或密码错误，或账号已停用。")
        from rest_framework.authtoken.models import Token
        from rest_framework.response import Response

        from departments.services import audit_log

        user = serializer.validated_data["user"]
        token, _ = Token.objects.get_or_create(user=user)
        audit_log(actor=user, action="login", object_type="login", object_id=user.get_username()[:40],
                  request=request, message="API 令牌登录成功")
        return Response({"token": token.key})


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("units/", UnitList.as_view(), name="api-units"),
]
