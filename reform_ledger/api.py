"""The REST API: the URL list collected from every app's api.py, plus the schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from departments.views import ApiDocsView  # Swagger UI without inline script (CSP)

urlpatterns = [
    path("", include("departments.api")),
    path("", include("tasks.api")),
    path("", include("reports.api")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
]
