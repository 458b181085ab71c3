from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from departments.services import ApplicationError
from tasks.excel import ledger_import
from tasks.models import Document


class Command(BaseCommand):
    help = (
        "导入台账 .xlsx / .xls：打印新建 / 更新 / 未变 / 错误数；有任何错误时逐条打印 “row N, column C: 说明”，"
        "不写入任何数据并以非零状态退出。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--document", help="任务所属文件的文号（表格没有“任务来源”列时必填）")
        parser.add_argument("--dry-run", action="store_true", help="只检查并预览，不写入")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件 {path}。")
        document = None
        if options["document"]:
            document = Document.objects.filter(doc_number=options["document"]).first()
            if document is None:
                raise CommandError(f"找不到文号为“{options['document']}”的文件。")
        try:
            result = ledger_import(data=path.read_bytes(), document=document, dry_run=options["dry_run"])
        except ApplicationError as e:
            self.stderr.write(f"row 0, column -: {e.message}")
            raise CommandError("nothing written") from None
        self.stdout.write(
            f"created: {result.created}\nupdated: {result.updated}\nunchanged: {result.unchanged}\n"
            f"conflicts: {len(result.conflicts)}\nerrors: {len(result.errors)}"
        )
        for conflict in result.conflicts:
            self.stdout.write(f"conflict: {conflict}")
        if result.errors:
            for error in result.errors:
                self.stderr.write(error.english)
            raise CommandError(f"{len(result.errors)} error(s); nothing written")
        if options["dry_run"]:
            self.stdout.write("dry run: nothing written")
        else:
            self.stdout.write("written")
