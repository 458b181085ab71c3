from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from departments.backup import backup_create, default_backup_dir
from departments.services import ApplicationError


class Command(BaseCommand):
    help = "备份数据库和上传文件到一个新目录（含校验和清单 manifest.json）。PostgreSQL 用 pg_dump，SQLite 用 JSON。"

    def add_arguments(self, parser):
        parser.add_argument("--out", help="备份目录（必须不存在或为空）；默认 backups/<时间>")

    def handle(self, *args, **options):
        out = Path(options["out"]) if options["out"] else default_backup_dir()
        try:
            manifest = backup_create(out=out)
        except ApplicationError as e:
            raise CommandError(e.message) from None
        rows = sum(manifest["row_counts"].values())
        self.stdout.write(
            f"备份完成：{out}（{manifest['database_vendor']}，{rows} 行数据，{len(manifest['media_files'])} 个上传文件）。"
        )
