import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from departments.services import ApplicationError
from tasks.plan_import import json_ready, plan_extract, plan_read


class Command(BaseCommand):
    help = "读取一份实施方案（.txt / .docx / .pdf），输出提取的台账草稿；--json 输出 JSON。不写数据库。"

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出（格式见 CONTRACT.md）")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件 {path}。")
        try:
            text = plan_read(data=path.read_bytes(), filename=path.name)
            result = plan_extract(text=text)
        except ApplicationError as e:
            raise CommandError(e.message) from None
        if options["json"]:
            self.stdout.write(json.dumps(json_ready(result), ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"文号：{result.get('doc_number') or '（无）'}")
        self.stdout.write(f"标题：{result.get('title')}")
        self.stdout.write(
            f"发文机关：{result.get('issuer') or '（无）'}  日期：{result.get('issued_on') or '（无）'}"
        )
        for rd in result.get("reporting_dates", []):
            self.stdout.write(f"报送时间：{rd['text']}（{rd['month']}月{rd['day']}日）")
        self.stdout.write(f"任务 {len(result['tasks'])} 项：")
        for t in result["tasks"]:
            self.stdout.write(f"  {'.'.join(t['path'])} {t['title']}")
            self.stdout.write(
                f"      牵头：{'、'.join(t['lead_units']) or '—'}  责任：{'、'.join(t['responsible_units']) or '—'}"
                f"{'  各县(市、区)' if t['counties_involved'] else ''}"
            )
            for d in t["deadlines"]:
                self.stdout.write(f"      时限：{d['text']} → {d.get('date') or '（相对时限）'}")
            for g in t["targets"]:
                self.stdout.write(
                    f"      指标：{g['indicator']} {g['op']} {g['value']}{g.get('unit') or ''}（{g.get('by') or '—'}）"
                )
        if result.get("unknown_units"):
            self.stdout.write("未识别的单位：" + "、".join(result["unknown_units"]))
