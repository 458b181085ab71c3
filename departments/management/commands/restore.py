from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from departments.backup import backup_restore
from departments.services import ApplicationError


class Command(BaseCommand):
    help = "把 backup 命令生成的备份恢复到空的新安装上：先校验清单，恢复后核对行数和文件校验和。"

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, help="备份目录（含 manifest.json）")

    def handle(self, *args, **options):
        try:
            manifest = backup_restore(source=Path(options["source"]))
        except ApplicationError as e:
            raise CommandError(e.message) from None
        rows = sum(manifest["row_counts"].values())
        self.stdout.write(
            f"恢复完成：{rows} 行数据、{len(manifest['media_files'])} 个上传文件，行数与校验和均与备份一致。"
        )
