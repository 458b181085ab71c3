"""Memory of one Excel upload: the peak resident memory of reading and planning (preview, nothing written) a
2.4 MB ledger workbook, above the same process doing nothing.

    .venv/bin/python bench/bench_upload_memory.py [--rows 40000] [--runs 3]

Builds the workbook (in a child process: Linux keeps a process's peak RSS across exec, so a parent that had built
the workbook itself would hand its peak to every child it measures) in the standard layout (DOMAIN.md: title row, merged two-row header, 序号 … 备注), migrates
a throwaway SQLite database, then runs `manage.py import_ledger FILE --dry-run --add-units` in child processes
and prints their peak RSS (ru_maxrss) minus the peak of `manage.py check` (Django and the app loaded, no file),
with the preview's summary, so that a refused file cannot pass for a measurement. Then the same file through the
import page as a web worker serves it (Django's test client in a child: upload, reading, planning and the preview
page), against the same child serving the page without a file. 40,000 rows make about 2.4 MB.
The issue's target: a 2.4 MB workbook under 64 MB per upload.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = [
    "序号",
    "任务来源(文件/文号)",
    "重点任务",
    "目标任务/指标",
    "牵头单位",
    "责任单位",
    "完成时限",
    "本期进展情况",
    "存在问题",
    "下步打算",
    "完成状态",
    "备注",
]
UNITS = ["市卫生健康委", "市医疗保障局", "市财政局", "市人力资源和社会保障局", "市发展改革委", "市市场监管局"]


def build(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["某市深化医药卫生体制改革重点任务台账"])
    ws.append(HEADER)
    for i in range(rows):
        section = i // 100 + 1
        ws.append([
            f"{section}.{i % 100 + 1}", "测试〔2026〕1号",
            f"第{i}项任务：推进紧密型县域医共体建设，完善分级诊疗制度，提升基层服务能力和群众满意度",
            f"县域就诊率达到{80 + i % 15}%以上", UNITS[i % 6], "、".join(UNITS[(i + 1) % 6:(i + 1) % 6 + 2]),
            f"{2026 + i % 3}年{1 + i % 12}月底前", "按计划推进，已完成阶段目标。" * 2, "基层人才不足", "继续推进", "推进中", "",
        ])  # fmt: skip
    wb.save(path)


def web_child(book: str | None) -> None:
    """In a child: the secretariat's import page, as a web worker serves it. With a file: the upload and its
    preview page (the whole request: reading the upload, planning, rendering); without: the page alone, the
    baseline. Run from main() with the throwaway database's settings."""
    import django

    django.setup()
    from django.test import Client
    from django.urls import reverse

    from departments.models import Role, Unit, UnitKind, User

    unit, _ = Unit.objects.get_or_create(name="市医改办", defaults={"kind": UnitKind.SECRETARIAT})
    user, _ = User.objects.get_or_create(
        username="bench_sec", defaults={"role": Role.SECRETARIAT, "unit": unit}
    )
    for name in UNITS:  # the ledger's units are known, as in an office's own ledger: every row is planned
        Unit.objects.get_or_create(name=name, defaults={"kind": UnitKind.DEPARTMENT})
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    if book is None:
        response = client.get(reverse("tasks:import"))
    else:
        with open(book, "rb") as f:
            response = client.post(reverse("tasks:import"), {"file": f})
    page = response.content.decode()
    created = re.search(r'data-testid="count-created">(\d+)<', page)
    if response.status_code != 200 or (book and not created):
        raise SystemExit(f"import page answered {response.status_code}: {page[:300]}")
    if book:
        print(f"web preview: 新建 {created.group(1)} 项, page {len(response.content) // 1024} KB")


def peak_rss_mb(args: list[str], env: dict, out=subprocess.DEVNULL) -> tuple[float, float]:
    """Run one child; its peak RSS in MB (from wait4's rusage) and its wall time."""
    start = time.perf_counter()
    # stderr to a file, not a pipe: the preview's messages fill a pipe's 64 KB long before the child ends, and a
    # child blocked on a full pipe while we wait4() for it never ends (the earlier version of this bench hung).
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):
            err.seek(0)
            raise SystemExit(f"{args[2:]} failed: {err.read().decode(errors='replace')[-2000:]}")
    return usage.ru_maxrss / 1024, time.perf_counter() - start  # ru_maxrss is in KB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=40000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--build", metavar="PATH", help=argparse.SUPPRESS
    )  # the child that writes the workbook
    parser.add_argument("--web-child", metavar="PATH", help=argparse.SUPPRESS)  # "-": the page alone
    a = parser.parse_args()
    if a.build:
        build(Path(a.build), a.rows)
        return
    if a.web_child:
        sys.path.insert(0, str(ROOT))
        web_child(None if a.web_child == "-" else a.web_child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        book = tmp / "ledger.xlsx"
        subprocess.run([sys.executable, __file__, "--rows", str(a.rows), "--build", str(book)], check=True)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "reform_ledger.settings.local",
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "CELERY_FILESYSTEM_DIR": str(tmp / "broker"),
        }
        env.pop("DEBUG", None)
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        base = min(peak_rss_mb([*manage, "check"], env)[0] for _ in range(a.runs))
        runs, summary = [], None
        for _ in range(a.runs):
            with tempfile.TemporaryFile() as out:
                runs.append(
                    peak_rss_mb([*manage, "import_ledger", str(book), "--dry-run", "--add-units"], env, out)
                )
                out.seek(0)
                summary = ", ".join(out.read().decode().splitlines()[:6])
        print(f"workbook: {a.rows} rows, {book.stat().st_size / 1024 / 1024:.2f} MB")
        print(f"preview: {summary}")
        print(f"baseline (manage.py check): {base:.0f} MB peak RSS")
        for rss, secs in runs:
            print(f"import --dry-run: peak {rss:.0f} MB, above baseline {rss - base:.0f} MB, {secs:.1f} s")
        print(f"worst above baseline: {max(r for r, _ in runs) - base:.0f} MB (target: under 64 MB)")
        # The same upload through the import page: the request a web worker serves, preview page included.
        child = [sys.executable, __file__, "--web-child"]
        web_base = min(peak_rss_mb([*child, "-"], env)[0] for _ in range(a.runs))
        web = []
        for _ in range(a.runs):
            with tempfile.TemporaryFile() as out:
                web.append(peak_rss_mb([*child, str(book)], env, out))
                out.seek(0)
                summary = out.read().decode().strip()
        print(summary)
        print(f"baseline (import page, no upload): {web_base:.0f} MB peak RSS")
        for rss, secs in web:
            print(
                f"upload + preview page: peak {rss:.0f} MB, above baseline {rss - web_base:.0f} MB, {secs:.1f} s"
            )
        print(f"worst above baseline: {max(r for r, _ in web) - web_base:.0f} MB (target: under 64 MB)")


if __name__ == "__main__":
    main()
