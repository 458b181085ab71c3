from .views import excel, reminders, reporting, rollups, supervision

app_name = "reports"

urlpatterns = reporting.urlpatterns + reminders.urlpatterns + rollups.urlpatterns + excel.urlpatterns
urlpatterns += supervision.urlpatterns
