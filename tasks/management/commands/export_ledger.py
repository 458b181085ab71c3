from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tasks.excel import ledger_export
from tasks.models import Document, Task


class Command(BaseCommand):
    help = "按标准台账格式导出 .xlsx（标题行、两行表头、章节行、隐藏的系统编号列，可改后再导入）。"

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="输出文件，例如 ledger.xlsx")
        parser.add_argument("--document", help="只导出这份文件（文号）的任务")

    def handle(self, *args, **options):
        qs = Task.objects.alive()
        if options["document"]:
            doc = Document.objects.filter(doc_number=options["document"]).first()
            if doc is None:
                raise CommandError(f"找不到文号为“{options['document']}”的文件。")
            qs = qs.filter(document=doc)
        data = ledger_export(qs=qs)
        Path(options["out"]).write_bytes(data)
        self.stdout.write(f"exported {qs.count()} tasks to {options['out']}")
