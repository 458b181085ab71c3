from .views import reminders, reporting, rollups

app_name = "reports"

urlpatterns = reporting.urlpatterns + reminders.urlpatterns + rollups.urlpatterns
