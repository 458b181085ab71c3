from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


def _empty_rollup_caches(**kwargs):
    from .rollups import rollup_caches_empty

    rollup_caches_empty(**kwargs)


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "季度填报与催报"

    def ready(self):
        from tasks.signals import plan_imported

        from . import invalidation, period_services, receivers  # noqa: F401 - receivers connects its signal handlers

        plan_imported.connect(period_services.periods_from_plan, dispatch_uid="reports_periods_from_plan")

        # Once per migrate run, not once per app: reports is the sender, whatever is being migrated.
        # The revision triggers (reports.invalidation), generated for the database at hand after every migrate.
        pre_migrate.connect(invalidation.before_migrate, sender=self, dispatch_uid="reports_triggers_drop")
        post_migrate.connect(invalidation.after_migrate, sender=self, dispatch_uid="reports_triggers_install")
        post_migrate.connect(_empty_rollup_caches, sender=self, dispatch_uid="reports_rollup_caches_empty")

        from departments.audit_display import register_describer

        from .selectors import periods_audit_labels, reports_audit_labels

        register_describer("report", reports_audit_labels)
        register_describer("period", periods_audit_labels)
