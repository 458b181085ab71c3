from .views import bulletins, excel, pace, reminders, reporting, rollups

app_name = "reports"

urlpatterns = (
    reporting.urlpatterns
    + reminders.urlpatterns
    + rollups.urlpatterns
    + excel.urlpatterns
    + bulletins.urlpatterns
    + pace.urlpatterns
)
