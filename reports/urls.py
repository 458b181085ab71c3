from .views import excel, reminders, reporting, rollups

app_name = "reports"

urlpatterns = reporting.urlpatterns + reminders.urlpatterns + rollups.urlpatterns + excel.urlpatterns
