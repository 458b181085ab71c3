"""Excel ledger import and export at the size of a province's ledger (10,000 tasks).

    DATABASE_URL=postgres://postgres@127.0.0.1:55998/bench_excel .venv/bin/python bench/bench_excel.py [--tasks 10000]

Generates an office-style ledger file (title row, header, section rows 一、/(一), unit aliases, dates as text),
then measures on the database in DATABASE_URL (use a throwaway one: each run adds its tasks under a new
document number):

- the time just to read the file: with the import's reader (tasks/xlsx_reader.py, row by row for memory) and
  with python-calamine (the floor),
- import creating every task (checks, validation, matching, bulk write, audit records), in rows/s,
- export of those tasks in the standard layout, in rows/s,
- re-import of the exported file with every row changed (备注 and 完成时限), in rows/s.

Targets: import and re-import >= 5,000 rows/s, export >= 10,000 rows/s.

Each line prints the wall time and rows/s, and the CPU seconds spent by this process ("app") and by the
PostgreSQL backend serving it ("db", read from /proc, so only when the database runs on this machine). On a
machine loaded by other work the wall time is mostly waiting for a CPU; rows per CPU-second (app + db) is what
the same run would reach on an idle machine, give or take I/O waits. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reform_ledger.settings.test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

# A new document per run: earlier runs stay (audit records are append-only), the timings are per document.
DOC = f"基准〔2026〕{int(time.time()) % 100000}号"
CN = "一二三四五六七八九十"


def ensure_schema_and_units(n_units: int = 40, n_counties: int = 10):
    from departments.models import Unit, UnitAlias, UnitKind

    call_command("migrate", verbosity=0)
    for i in range(n_units):
        unit, _ = Unit.objects.get_or_create(name=f"市基准局{i}", defaults={"short_name": f"基准{i}局"})
        UnitAlias.objects.get_or_create(
            normalized=f"基准局别名{i}", defaults={"unit": unit, "alias": f"基准局别名{i}"}
        )
    for i in range(n_counties):
        Unit.objects.get_or_create(
            name=f"基准{i}县政府", defaults={"kind": UnitKind.COUNTY, "short_name": f"基准{i}县"}
        )


def generate(n_tasks: int) -> bytes:
    """An office ledger: title, spacer, header, 一、 sections with (一) subsections and numbered tasks."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    ws.append(["基准市深化医改重点任务台账"])
    ws.append([])
    ws.append(
        [
            "序号",
            "任务来源(文件/文号)",
            "重点任务",
            "目标任务/指标",
            "牵头单位",
            "责任单位",
            "完成时限",
            "完成状态",
            "备注",
        ]
    )
    deadlines = ["2022年底", "2020.12", "2022年12月", "2021-06-30", "2023年上半年；长期坚持"]
    statuses = ["未启动", "推进中", "已完成", ""]
    per_sub = 100
    made = 0
    s = 0
    while made < n_tasks:
        ws.append([f"{CN[s % 10]}{'十' if s >= 10 else ''}、", f"第{s + 1}部分任务"])
        for sub in range(10):
            if made >= n_tasks:
                break
            ws.append([f"({CN[sub]})", f"第{s + 1}部分第{sub + 1}小节"])
            for k in range(per_sub):
                if made >= n_tasks:
                    break
                lead = f"市基准局{made % 40}" if made % 3 else f"基准局别名{made % 40}"
                resp = f"市基准局{(made + 1) % 40}、基准{(made + 2) % 40}局" + (
                    "、各县(市、区)政府" if made % 5 == 0 else ""
                )
                ws.append(
                    [
                        f"{k + 1}.",
                        DOC,
                        f"基准任务{made}：推进第{made}项改革",
                        f"到2022年县域就诊率达到{80 + made % 20}%以上。" * 3,
                        lead,
                        resp,
                        deadlines[made % len(deadlines)],
                        statuses[made % len(statuses)],
                        "",
                    ]
                )
                made += 1
        s += 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def generate_division_table(n_tasks: int) -> bytes:
    """Another office's 分工表: a 说明 sheet first, 附件/文号/title rows, a two-row merged header (责任分工 over
    牵头部门 | 配合部门), section rows, no plan column (a new plan from the title), former unit names, several
    deadlines per cell and phrases without a year."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["填表说明：每季度末报送"])
    ws = wb.create_sheet("任务分工")
    ws.append(["附件1"])
    ws.append([f"基准医改办〔2026〕{int(time.time()) % 100000}号"])
    ws.append(["2026年基准市深化医药卫生体制改革重点工作任务分工表"])
    ws.append(["序号", "要点内容", "责任分工", None, "时间节点"])
    ws.append([None, None, "牵头部门", "配合部门", None])
    for ref in ("A4:A5", "B4:B5", "C4:D4", "E4:E5"):
        ws.merge_cells(ref)
    deadlines = [
        "6月底前",
        "2026年6-9月",
        "2026年6月底前完成试点，年底前全面推开",
        "三季度末",
        "每季度末",
        "长期坚持",
        "春节前",
    ]
    made, s = 0, 0
    while made < n_tasks:
        ws.append([f"{CN[s % 10]}{'十' if s >= 10 else ''}、第{s + 1}部分任务"])
        for k in range(100):
            if made >= n_tasks:
                break
            lead = f"市基准局{made % 40}"
            resp = f"基准{(made + 1) % 40}局、市基准局{(made + 2) % 40}等" + (
                "，各县(市、区)政府(管委会)" if made % 4 == 0 else ""
            )
            ws.append(
                [
                    k + 1,
                    f"基准任务{made}：推进第{made}项改革\n压实责任",
                    lead,
                    resp,
                    deadlines[made % len(deadlines)],
                ]
            )
            made += 1
        s += 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def change_every_row(data: bytes) -> bytes:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    ws = wb.active
    for row in ws.iter_rows(min_row=5):
        if row[12].value:
            row[11].value = "基准复核：已调整"
            row[6].value = "2024年底"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _backend_cpu() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (same machine only), else None."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Timed:
    """Wall time, this process's CPU time and the database backend's CPU time of a block.

    On a loaded machine the wall time is mostly waiting for a CPU; app + db CPU is what the work costs."""

    def __enter__(self):
        connection.ensure_connection()
        self.db0 = _backend_cpu()
        self.cpu0 = time.process_time()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.cpu0
        db1 = _backend_cpu()
        self.db = (db1 - self.db0) if (db1 is not None and self.db0 is not None) else None

    def line(self, label: str, n: int, target: str = "") -> str:
        cpu = self.cpu + (self.db or 0)
        db = f"db {self.db:5.2f}" if self.db is not None else "db    - "
        return (
            f"{label:<32} {self.wall:7.3f} s {n / self.wall:8.0f} rows/s | cpu app {self.cpu:5.2f} {db} "
            f"= {n / cpu:7.0f} rows/cpu-s {target}"
        )


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def read_only_streamed(data: bytes) -> float:
    from tasks.xlsx_reader import read_xlsx

    t = time.perf_counter()
    read_xlsx(io.BytesIO(data), max_sheets=1)
    return time.perf_counter() - t


def read_only_calamine(data: bytes) -> float:
    import python_calamine as pc

    t = time.perf_counter()
    pc.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    return time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10_000)
    args = parser.parse_args()
    n = args.tasks

    from tasks.ledger_import import ledger_import
    from tasks.models import Document, Task
    from tasks.sheets import ledger_export

    print(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}   {load()}")
    ensure_schema_and_units()
    data = generate(n)
    print(f"generated ledger: {n} tasks, {len(data) / 1024 / 1024:.1f} MB")

    with Timed() as t:
        read_only_streamed(data)
    print(t.line("read only (xlsx_reader)", n))
    with Timed() as t:
        read_only_calamine(data)
    print(t.line("read only (python-calamine)", n))

    division = generate_division_table(2000)
    with Timed() as t:
        other = ledger_import(data=division, dry_run=True)
    assert other.created == 2000 and not other.errors, (other.created, other.errors[:3])
    print(t.line("preview 2,000-row 分工表", 2000, "(target < 3 s)"))

    with Timed() as t:
        preview = ledger_import(data=data, dry_run=True)
    assert preview.created == n and not preview.errors, (preview.created, preview.errors[:3])
    print(t.line("import preview (dry run)", n))

    with Timed() as t:
        result = ledger_import(data=data, dry_run=False)
    assert result.created == n and result.written
    print(t.line(f"import, create {n} tasks", n, "(target >= 5,000)"))

    doc = Document.objects.get(doc_number=DOC)
    qs = Task.objects.alive().filter(document=doc)
    with Timed() as t:
        exported = ledger_export(qs=qs)
    print(t.line(f"export {n} tasks", n, "(target >= 10,000)"))

    with Timed() as t:
        read_only_calamine(exported)
    print(t.line("read exported file (calamine)", n))
    with Timed() as t:
        same = ledger_import(data=exported, dry_run=False)
    assert same.unchanged == n and same.updated == 0, (same.unchanged, same.updated)
    print(t.line("re-import unchanged", n))

    changed = change_every_row(exported)
    with Timed() as t:
        again = ledger_import(data=changed, dry_run=False)
    assert again.updated == n and not again.errors and not again.conflicts, (again.updated, again.errors[:3])
    print(t.line("re-import, every row changed", n, "(target >= 5,000)"))
    print(load())


if __name__ == "__main__":
    main()
