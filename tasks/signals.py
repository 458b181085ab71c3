"""What the ledger tells the apps above it (they import tasks; tasks never imports them)."""

from django.dispatch import Signal

# A plan read from a file was written (inside plan_import_confirm's transaction). Keyword arguments: document,
# reporting_dates ([{"month", "day", "year"?, "text"}]), year (the plan's), actor, request. The reports app
# opens the reporting periods of those dates (reports.period_services.periods_from_plan).
plan_imported = Signal()
