"""REST API of the reports app, one module per capability so each can grow on its own."""

from . import reminders, reporting, rollups, supervision

urlpatterns = reporting.urlpatterns + reminders.urlpatterns + rollups.urlpatterns + supervision.urlpatterns
