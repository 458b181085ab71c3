from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "医改任务台账"

    def ready(self):
        from departments.audit_display import register_describer, register_key_namer

        from .selectors import documents_audit_labels, targets_audit_names, tasks_audit_labels

        register_describer("task", tasks_audit_labels)
        register_describer("document", documents_audit_labels)
        register_key_namer("target_values", targets_audit_names)
