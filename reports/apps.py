from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "季度填报与催报"

    def ready(self):
        from . import triggers

        # Once per migrate run, not once per app: reports is the sender, whatever is being migrated.
        pre_migrate.connect(
            triggers.drop_sqlite_triggers, sender=self, dispatch_uid="reports_sqlite_triggers_drop"
        )
        post_migrate.connect(
            triggers.create_sqlite_triggers, sender=self, dispatch_uid="reports_sqlite_triggers_create"
        )
