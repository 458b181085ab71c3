"""REST API of reporting periods, reports, notifications, roll-ups and the dashboard."""

urlpatterns: list = []
