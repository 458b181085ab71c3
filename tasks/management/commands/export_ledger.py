from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from departments.services import export_audit
from tasks.models import Document, Task
from tasks.sheets import ledger_export_counted


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
        data, rows = ledger_export_counted(qs=qs)
        Path(options["out"]).write_bytes(data)
        filters = {"document": options["document"], "out": options["out"], "via": "export_ledger command"}
        export_audit(export="ledger", title="任务台账（命令行）", filters=filters, rows=rows)
        self.stdout.write(f"exported {rows} tasks to {options['out']}")
