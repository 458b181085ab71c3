import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from departments.services import ApplicationError
from tasks.ledger_import import ledger_import


class Command(BaseCommand):
    help = (
        "导入台账或任务分工表 .xlsx / .xls / .et：打印新建 / 更新 / 未变 / 错误数；有任何错误时逐条打印 “row N, column C: 说明”，"
        "不写入任何数据并以非零状态退出。任务所属文件：表中的文件列，否则 --document 指定的文号（尚无此文号时新建），"
        "否则用表格标题新建。--sheet、--header-row 指定工作表和表头行。--json 打印预览。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=".xlsx、.xls 或 WPS 表格 .et（按内容识别）")
        parser.add_argument("--document", help="任务所属文件的文号；系统中还没有这个文号时新建该文件")
        parser.add_argument(
            "--sheet", metavar="NAME", help="读取这个工作表（默认：第一个有可识别表头的工作表）"
        )
        parser.add_argument(
            "--header-row",
            metavar="N",
            help="表头在第 N 行（Excel 的行号；多行表头写其中任意一行）；不写时自动查找",
        )
        parser.add_argument("--add-units", action="store_true", help="不认识的单位名称新建为单位，而不是报错")
        parser.add_argument("--dry-run", action="store_true", help="只检查并预览，不写入")
        parser.add_argument(
            "--json", action="store_true", help="以 JSON 打印预览（新建/更新/未变的每一行、单位、错误）"
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件 {path}。")
        as_json = options["json"]
        try:
            result = ledger_import(
                data=path.read_bytes(),
                doc_number=(options["document"] or "").strip() or None,
                sheet=options["sheet"],
                header_row=options["header_row"],
                add_units=options["add_units"],
                column_first=True,  # CONTRACT.md: a plan column first, else --document, else the sheet's title
                dry_run=options["dry_run"],
                filename=path.name,
            )
        except ApplicationError as e:
            column = {
                "document": "文件",
                "sheet": "工作表",
                "header_row": "表头行",
                "header": "表头",
                "mapping": "列",
            }.get(e.field or "", "-")
            if as_json:
                self.stdout.write(json.dumps(_failed(e.message, column), ensure_ascii=False, indent=2))
            self.stderr.write(f"row 0, column {column}: {e.message}")
            raise CommandError("nothing written") from None
        if as_json:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        else:
            doc = result.document
            if result.header is not None:
                self.stdout.write(f"sheet: {result.header.sheet} (header row {result.header.header_row})")
            if doc is not None and not doc.from_column:
                state = "new" if doc.created else "existing"
                self.stdout.write(f"document: {doc.doc_number or '-'} {doc.title} ({state})")
            self.stdout.write(
                f"created: {result.created}\nupdated: {result.updated}\nunchanged: {result.unchanged}\n"
                f"conflicts: {len(result.conflicts)}\nerrors: {len(result.errors)}"
            )
            if result.new_units and not result.errors:
                self.stdout.write(f"new units: {'、'.join(result.new_units)}")
            for conflict in result.conflicts:
                self.stdout.write(f"conflict: {conflict}")
        if result.errors:
            for error in result.errors:
                self.stderr.write(error.english)
            raise CommandError(f"{len(result.errors)} error(s); nothing written")
        if not as_json:
            self.stdout.write("dry run: nothing written" if options["dry_run"] else "written")


def _failed(message: str, column: str) -> dict:
    """The preview's shape when the file itself could not be read: no rows, one error."""
    return {
        "document": {"doc_number": None, "title": "", "created": False},
        "sheet": "",
        "header_row": 0,
        "columns": {},
        "summary": {"created": 0, "updated": 0, "unchanged": 0, "errors": 1, "warnings": 0},
        "rows": [],
        "unknown_units": [],
        "errors": [{"row": 0, "column": column, "message": message}],
    }
