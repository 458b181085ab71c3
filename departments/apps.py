from django.apps import AppConfig


class DepartmentsConfig(AppConfig):
    name = "departments"
    verbose_name = "单位与账号"

    def ready(self):
        from . import accounts, security  # noqa: F401 - connect the login/logout and password audit signals
        from .audit_display import register_describer
        from .selectors import units_audit_labels, users_audit_labels

        register_describer("unit", units_audit_labels)
        register_describer("user", users_audit_labels)
