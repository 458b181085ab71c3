from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "departments"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("audit/", views.AuditLogView.as_view(), name="audit-log"),
    path("audit/export.xlsx", views.AuditExportView.as_view(), name="audit-export"),
    path("units/options/", views.unit_options, name="unit-options"),
]
