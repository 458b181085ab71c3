import os

from django.core.management.base import BaseCommand, CommandError

from departments.dbroles import app_role_sync


class Command(BaseCommand):
    help = (
        "以数据库属主身份（DATABASE_OWNER_URL）创建或更新应用账号（DATABASE_URL 中的用户名和密码）并授权：可读写台账数据，"
        "审计表只能查询和追加。每次 migrate 之后运行（docker-compose 的 migrate 服务会自动运行）。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--owner-url",
            default=os.environ.get("DATABASE_OWNER_URL", ""),
            help="属主连接串，默认取环境变量 DATABASE_OWNER_URL",
        )
        parser.add_argument(
            "--app-url",
            default=os.environ.get("DATABASE_URL", ""),
            help="应用连接串，默认取环境变量 DATABASE_URL",
        )

    def handle(self, *args, **o):
        if not o["owner_url"] or not o["app_url"]:
            raise CommandError("需要 DATABASE_OWNER_URL（属主）和 DATABASE_URL（应用账号）两个连接串。")
        if not o["owner_url"].startswith(("postgres://", "postgresql://", "pgsql://")):
            raise CommandError("只有 PostgreSQL 需要单独的应用账号；SQLite 内嵌默认配置无需运行此命令。")
        try:
            result = app_role_sync(owner_url=o["owner_url"], app_url=o["app_url"])
        except ValueError as e:
            raise CommandError(str(e)) from None
        verb = "已创建" if result["created"] else "已更新"
        self.stdout.write(
            f"{verb}应用账号 {result['role']}：可读写台账数据；审计表 {result['audit_table']} 只能查询和追加。"
        )
