"""reminders API; see reports/api/__init__.py."""

urlpatterns: list = []
