from .views import bulletins, excel, pace, reminders, reporting, rollups, supervision

app_name = "reports"

urlpatterns = reporting.urlpatterns + reminders.urlpatterns + rollups.urlpatterns + excel.urlpatterns
urlpatterns += supervision.urlpatterns
urlpatterns += bulletins.urlpatterns + pace.urlpatterns
