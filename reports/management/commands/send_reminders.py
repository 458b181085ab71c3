"""`send_reminders [--now ISO-DATETIME]`: the reminder sweep, once, synchronously, as the scheduler would run it."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from reports.sweep import sweep_run


def parse_now(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            moment = dt.datetime.combine(dt.date.fromisoformat(value.strip()), dt.time(8, 30))
        except ValueError:
            raise CommandError(
                f"--now 的值“{value}”不是有效的日期时间，应为 ISO 格式，例如 2024-09-13T08:30:00+08:00。"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))  # local time, as the beat's crontab
    return moment


class Command(BaseCommand):
    help = (
        "运行一次催报扫描（与每日定时任务相同，同步发送），输出新建的催报条数；同一时刻重复运行不会重复催报。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            help="按此时刻运行（ISO 日期时间，如 2024-09-13T08:30:00+08:00；不带时区按 Asia/Shanghai；只写日期按当天 08:30）",
        )
        parser.add_argument(
            "--catch-up",
            action="store_true",
            help="同时补发此前 7 天内因系统未运行而漏掉的每日扫描（与系统启动时的补发相同，不会重复发送）",
        )

    def handle(self, *args, **options):
        from django.utils import timezone

        now = parse_now(options["now"]) if options.get("now") else timezone.now()
        result = sweep_run(now=now, deliver="sync", catch_up=bool(options.get("catch_up")))
        self.stdout.write(f"created {result.created} reminders")
        caught = "、".join(f"{d:%Y-%m-%d}" for d in result.caught_up)
        self.stdout.write(
            f"新建催报 {result.created} 条，合并为 {result.messages} 条消息，续发 {result.resumed} 条，"
            f"汇总 {result.digests} 份{f'，补发 {caught}' if caught else ''}"
            f"（按 {timezone.localtime(now):%Y-%m-%d %H:%M} 运行）"
        )
