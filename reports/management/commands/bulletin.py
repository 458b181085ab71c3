"""`bulletin --period ID --out FILE.docx [--issue]`: the quarterly 通报 of a period as Word.

Without --issue: the draft as the secretariat last saved it (or the defaults), unnumbered; an already issued 通报
is written as it was issued. With --issue: numbers it (第N期 of the year), stores it with its figures and sends it
to every unit's inbox, then writes that file. Errors (unknown period, no reports yet, issued already) are printed
in Chinese and exit non-zero, writing nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from departments.services import ApplicationError
from reports.bulletin import bulletin_document, bulletin_for, bulletin_issue
from reports.models import Period


class Command(BaseCommand):
    help = "生成季度通报（Word）；--issue 编号、存档并发送到各单位"

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="填报期编号（GET /api/periods/ 的 id）")
        parser.add_argument("--out", required=True, help="输出的 .docx 文件")
        parser.add_argument("--issue", action="store_true", help="印发：编第N期、存档、发送站内信")

    def handle(self, *args, period, out, issue, **options):
        raw = str(period).strip()
        found = Period.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        if found is None:
            raise CommandError(f"填报期“{raw}”不存在（参数 --period 应为填报期编号）。")
        path = Path(out)
        if path.suffix.lower() != ".docx":
            raise CommandError(f"输出文件“{out}”应以 .docx 结尾。")
        if not path.parent.exists():
            raise CommandError(f"输出目录“{path.parent}”不存在。")
        try:
            if issue:
                bulletin = bulletin_issue(period=found, actor=None)
            else:
                bulletin = bulletin_for(period=found)
            content, figures = bulletin_document(bulletin=bulletin, today=timezone.localdate())
        except ApplicationError as e:  # ConflictError too
            raise CommandError(e.message) from None
        path.write_bytes(content)
        t, r = figures["tasks"], figures["reports"]
        label = bulletin.number_label or "草稿"
        self.stdout.write(
            f"{found.label} 通报（{label}）已写入 {path}：任务 {t['total']} 项，已完成 {t['completed']}，"
            f"超进度 {t['ahead']}，达进度 {t['on_pace']}，欠进度 {t['behind']}；"
            f"应报 {r['due']}，按时 {r['on_time']}，逾期 {r['late']}，未报 {r['missing']}"
        )
