"""Which xlsx engine writes the ledger layout fast enough: the figures behind reform_ledger/spreadsheets.py.

    .venv/bin/python bench/bench_xlsx_writers.py [--rows 10000]

Builds ledger-shaped rows in memory (13 columns of Chinese text as the export writes them, a section row every
100 tasks; no database), then writes the same workbook (title, two-row merged header, section rows merged across,
bordered and wrapped cells, hidden id column, frozen panes, A4 landscape) with:

- render_xlsx: XlsxWriter building the workbook in memory with shared strings (the default),
- render_xlsx(streaming=True): XlsxWriter's constant-memory mode (rows streamed to a temporary file),
- openpyxl write-only mode with styled cells (the other engine the project already has).

Prints seconds, rows/s and the peak Python memory of each (tracemalloc, in a second untimed run; XlsxWriter's temporary files are not
counted, they are on disk). Target for the ledger export: >= 10,000 rows/s. bench/bench_excel.py measures the
whole export from the database (query + rows + file).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reform_ledger.settings.test")

import django  # noqa: E402

django.setup()

from reform_ledger.spreadsheets import Column, Section, Sheet, render_xlsx  # noqa: E402
from tasks.sheets import LEDGER_SHEET_COLUMNS  # noqa: E402


def ledger_like_rows(n: int) -> list:
    rows: list = []
    for i in range(n):
        if i % 100 == 0:
            rows.append(Section(f"({i // 100 + 1})", f"第{i // 100 + 1}部分：推进分级诊疗制度建设"))
        rows.append(
            [
                f"{i % 100 + 1}.",
                "平办〔2020〕7号",
                f"基准任务{i}：推进第{i}项改革",
                f"到2022年县域就诊率达到{80 + i % 20}%以上。" * 3,
                f"市基准局{i % 40}",
                f"市基准局{(i + 1) % 40}、基准{(i + 2) % 40}局、各县(市、区)政府",
                "2022年底；长期坚持",
                "" if i % 3 else "已组建医共体 6 个，覆盖全部乡镇卫生院",
                "",
                "",
                "推进中",
                "=1+1" if i % 50 == 0 else "",
                f"T{i}:v1:0123456789ab",
            ]
        )
    return rows


def with_xlsxwriter(rows: list, *, streaming: bool) -> bytes:
    sheet = Sheet(
        name="台账",
        title="基准台账",
        subtitle="导出时间",
        columns=LEDGER_SHEET_COLUMNS,
        rows=rows,
        freeze_columns=1,
    )
    return render_xlsx([sheet], streaming=streaming)


def with_openpyxl(rows: list) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.worksheet.cell_range import CellRange

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    cols: list[Column] = LEDGER_SHEET_COLUMNS
    for i, c in enumerate(cols):
        letter = chr(65 + i)
        ws.column_dimensions[letter].width = c.width
        ws.column_dimensions[letter].hidden = c.hidden
    ws.freeze_panes = "B5"
    ws.print_title_rows = "3:4"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"
    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F2F2F2")

    def cell(value, *, section=False):
        c = WriteOnlyCell(ws, value=value)
        c.border, c.alignment = border, wrap
        if section:
            c.font, c.fill = bold, fill
        if isinstance(value, str) and value.startswith("="):
            c.data_type = "s"
        return c

    ws.append([cell("基准台账")])
    ws.append([cell("导出时间")])
    ws.append([cell(c.group or c.header) for c in cols])
    ws.append([cell(c.header if c.group else None) for c in cols])
    merges = ["A1:L1", "A2:L2", "H3:J3"] + [
        f"{chr(65 + i)}3:{chr(65 + i)}4" for i, c in enumerate(cols) if not c.group
    ]
    r = 5
    for values in rows:
        if isinstance(values, Section):
            ws.append(
                [cell(values.label, section=True), cell(values.text, section=True)]
                + [cell(None, section=True)] * 10
            )
            merges.append(f"B{r}:L{r}")
        else:
            ws.append([cell(v) for v in values])
        r += 1
    for m in merges:
        ws.merged_cells.add(CellRange(m))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def measure(label: str, n: int, fn) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    data = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    # Memory in a second run: tracemalloc slows Python code several times over, so it cannot time the first.
    tracemalloc.start()
    fn()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{label:<40} {wall:6.3f} s {n / wall:8.0f} rows/s  {n / cpu:8.0f} rows/cpu-s  peak {peak / 1024 / 1024:6.1f} MB  file {len(data) / 1024:7.0f} KB"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    n = args.rows
    rows = ledger_like_rows(n)
    print(
        f"{n} task rows + {n // 100} section rows, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    measure("render_xlsx (xlsxwriter in memory)", n, lambda: with_xlsxwriter(rows, streaming=False))
    measure("render_xlsx streaming (constant_memory)", n, lambda: with_xlsxwriter(rows, streaming=True))
    measure("openpyxl write_only, styled cells", n, lambda: with_openpyxl(rows))


if __name__ == "__main__":
    main()
