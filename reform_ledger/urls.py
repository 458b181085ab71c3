from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "医改台账 · 系统管理"
admin.site.site_title = "医改台账"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("reform_ledger.api")),
    path("", include("departments.urls")),
    path("", include("tasks.urls")),
    path("", include("reports.urls")),
]

handler403 = "reform_ledger.views.forbidden"
handler404 = "reform_ledger.views.not_found"
handler500 = "reform_ledger.views.server_error"
handler400 = "reform_ledger.views.bad_request"
