"""Excel import and export pages (see tasks/excel.py)."""

urlpatterns: list = []
