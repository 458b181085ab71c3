from django.core.management.base import BaseCommand

from reports.demo import load_demo


class Command(BaseCommand):
    help = "载入演示台账（fixtures/ 中的两份文件）、单位与别名、2020–2022 年季度填报期和各角色演示账号；可重复运行。"

    def handle(self, *args, **options):
        result = load_demo()
        self.stdout.write(f"演示台账已载入：新建任务 {result['created_tasks']} 项。")
        self.stdout.write("演示账号（用户名 / 密码 / 角色 / 单位）：")
        for username, password, role, unit in result["accounts"]:
            self.stdout.write(f"  {username:<12} {password:<14} {role}{' · ' + unit if unit else ''}")
