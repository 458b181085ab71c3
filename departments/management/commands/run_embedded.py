"""`make run`: the web server and a Celery worker with embedded beat, in one command, with no other server.

The worker is a child process (`celery -A reform_ledger worker -B`); it uses the broker in CELERY_BROKER_URL,
which local settings default to kombu's filesystem transport under var/broker (no Redis needed). Ctrl-C stops
both. The web server is Django's development server (autoreload on) or, with --gunicorn, gunicorn.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "同时启动网页服务与 Celery worker（内置 beat 定时任务），Ctrl-C 一并停止。"

    def add_arguments(self, parser):
        parser.add_argument(
            "addrport", nargs="?", default="127.0.0.1:8000", help="监听地址，默认 127.0.0.1:8000"
        )
        parser.add_argument("--noreload", action="store_true", help="代码改动后不自动重启网页服务")
        parser.add_argument("--gunicorn", action="store_true", help="用 gunicorn 代替开发服务器")
        parser.add_argument("--no-worker", action="store_true", help="只启动网页服务")

    def handle(self, *args, **options):
        addrport = options["addrport"]
        if os.environ.get("RUN_MAIN") == "true":
            # The autoreloader's child: the parent process already runs the worker.
            call_command("runserver", addrport, use_reloader=True)
            return

        var = Path(settings.BASE_DIR) / "var"
        (var / "log").mkdir(parents=True, exist_ok=True)
        # `kill` (SIGTERM) stops both as Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        worker = None if options["no_worker"] else self.start_worker(var)
        try:
            self.print_banner(addrport, worker, var)
            if options["gunicorn"]:
                self.run_gunicorn(addrport)
            else:
                call_command("runserver", addrport, use_reloader=not options["noreload"])
        except KeyboardInterrupt:
            pass
        finally:
            if worker is not None:
                self.stop_worker(worker)

    # -- the worker ------------------------------------------------------------------------------------------

    def start_worker(self, var: Path) -> subprocess.Popen:
        log_path = var / "log" / "celery.log"
        cmd = [
            sys.executable, "-m", "celery", "-A", "reform_ledger", "worker",
            "--beat", "--schedule", str(var / "celerybeat-schedule"),
            "--loglevel=INFO", "--concurrency=2", "--without-gossip", "--without-mingle",
            "--logfile", str(log_path),
        ]  # fmt: skip
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "reform_ledger.settings.local"),
        )
        start_offset = log_path.stat().st_size if log_path.exists() else 0
        # Own session: Ctrl-C reaches us only, and we stop the worker cleanly (warm shutdown) ourselves.
        proc = subprocess.Popen(
            cmd, cwd=settings.BASE_DIR, env=env, start_new_session=True, stdout=subprocess.DEVNULL
        )
        proc.log_path = log_path
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise CommandError(f"Celery worker 启动失败（退出码 {proc.returncode}），见日志 {log_path}")
            if log_path.exists():
                with open(log_path, "rb") as f:
                    f.seek(start_offset)
                    if b" ready." in f.read():
                        return proc
            time.sleep(0.3)
        self.stderr.write(f"Celery worker 60 秒内未就绪，继续启动网页服务；见日志 {log_path}")
        return proc

    def stop_worker(self, proc: subprocess.Popen) -> None:
        if proc.poll() is not None:
            return
        self.stdout.write("正在停止 Celery worker ……")
        os.kill(
            proc.pid, signal.SIGTERM
        )  # warm shutdown: the main process finishes jobs in hand and stops its pool
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    # -- the web server ----------------------------------------------------------------------------------------

    def run_gunicorn(self, addrport: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "gunicorn", "reform_ledger.wsgi", "--bind", addrport, "--workers", "2"],
            cwd=settings.BASE_DIR,
            check=False,
        )

    def print_banner(self, addrport: str, worker, var: Path) -> None:
        from departments.models import Role, User

        host, _, port = addrport.rpartition(":")
        url = f"http://{host or '127.0.0.1'}:{port}/"
        broker = settings.CELERY_BROKER_URL
        lines = ["", "=" * 64, f"  医改台账已启动：{url}"]
        if worker is not None:
            lines.append(f"  Celery worker + beat：pid {worker.pid}，队列 {broker.split('@')[-1]}")
            lines.append(f"  worker 日志：{worker.log_path}")
        demo = _demo_accounts()
        if demo:
            present = set(
                User.objects.filter(username__in=[a["username"] for a in demo["accounts"]]).values_list(
                    "username", flat=True
                )
            )
            rows = [a for a in demo["accounts"] if a["username"] in present]
            if rows:
                lines.append(f"  演示账号（密码均为 {demo['password']}）：")
                for a in rows:
                    role = Role(a["role"]).label if a["role"] in Role.values else a["role"]
                    lines.append(
                        f"    {a['username']:<12} {role}{'（' + a['unit'] + '）' if a['unit'] else ''}"
                    )
        lines += ["  按 Ctrl-C 停止。", "=" * 64, ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()


def _demo_accounts() -> dict | None:
    path = Path(settings.BASE_DIR) / "fixtures" / "units.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        return {"password": config["demo_password"], "accounts": config["accounts"]}
    except (OSError, KeyError, ValueError):
        return None
