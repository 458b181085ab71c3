from django.core.management.base import BaseCommand, CommandError

from departments.models import Role
from departments.services import ApplicationError, user_upsert


class Command(BaseCommand):
    help = "新建或更新账号。ROLE 取 secretariat / reporter / leader / admin / auditor；填报员必须用 --unit 指定单位。"

    def add_arguments(self, parser):
        parser.add_argument("username")
        # No argparse `choices`: its refusal is in English; user_upsert answers in Chinese with the valid roles.
        parser.add_argument("--role", required=True, help="、".join(Role.values))
        parser.add_argument("--password", required=True)
        parser.add_argument("--unit", help="单位的规范名称或任一别名")

    def handle(self, *args, **o):
        try:
            user, created = user_upsert(
                username=o["username"], role=o["role"], password=o["password"], unit_name=o["unit"]
            )
        except ApplicationError as e:
            raise CommandError(e.message) from None
        verb = "已创建" if created else "已更新"
        unit = f"，单位 {user.unit.name}" if user.unit else ""
        self.stdout.write(f"{verb}账号 {user.username}（{user.get_role_display()}{unit}）。")
