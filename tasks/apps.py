from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _refresh_pace(using="default", **kwargs):
    from django.db import connections

    from .services import tasks_refresh_pace_missing

    connection = connections[using]
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        if "tasks_task" not in tables:
            return
        columns = {c.name for c in connection.introspection.get_table_description(cursor, "tasks_task")}
    if "pace_start" in columns:  # not when migrated only part of the way
        tasks_refresh_pace_missing()


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "医改任务台账"

    def ready(self):
        from departments.audit_display import register_describer, register_key_namer

        from .selectors import documents_audit_labels, targets_audit_names, tasks_audit_labels

        register_describer("task", tasks_audit_labels)
        register_describer("document", documents_audit_labels)
        register_key_namer("target_values", targets_audit_names)

        # Tasks that existed before the 序时进度 fields (migration 0004) get their dates once, after migrate.
        post_migrate.connect(_refresh_pace, sender=self, dispatch_uid="tasks_refresh_pace_missing")
