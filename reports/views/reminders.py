"""reminders pages."""

urlpatterns: list = []
