from django.apps import AppConfig


class DepartmentsConfig(AppConfig):
    name = "departments"
    verbose_name = "单位与账号"

    def ready(self):
        from . import accounts, security  # noqa: F401 - connect the login/logout and password audit signals
