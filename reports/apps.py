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

        from . import receivers, services, triggers  # noqa: F401 - receivers connects its signal handlers

        plan_imported.connect(services.periods_from_plan, dispatch_uid="reports_periods_from_plan")

        # Once per migrate run, not once per app: reports is the sender, whatever is being migrated.
        pre_migrate.connect(
            triggers.drop_sqlite_triggers, sender=self, dispatch_uid="reports_sqlite_triggers_drop"
        )
        post_migrate.connect(
            triggers.create_sqlite_triggers, sender=self, dispatch_uid="reports_sqlite_triggers_create"
        )
        post_migrate.connect(_empty_rollup_caches, sender=self, dispatch_uid="reports_rollup_caches_empty")
