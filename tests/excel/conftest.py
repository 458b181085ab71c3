"""Helpers for the Excel tests: the demo ledger, and small ledgers written with openpyxl the way offices do."""

import io

import openpyxl
import pytest

from departments.models import UnitAlias, UnitKind
from tests.factories import DocumentFactory, UnitFactory

HEADER = [
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


@pytest.fixture
def demo(db):
    from reports.demo import load_demo

    load_demo()


@pytest.fixture
def small_ledger(db):
    """Units with aliases, two counties and an empty plan document."""
    health = UnitFactory(name="市卫生健康委", short_name="市卫健委")
    UnitAlias.objects.create(unit=health, alias="市卫生健康委员会")
    insurance = UnitFactory(name="市医疗保障局", short_name="市医保局")
    finance = UnitFactory(name="市财政局")
    UnitFactory(name="叶县政府", short_name="叶县", kind=UnitKind.COUNTY)
    UnitFactory(name="郏县政府", short_name="郏县", kind=UnitKind.COUNTY)
    doc = DocumentFactory(doc_number="平办〔2020〕7号", title="平顶山市深化医药卫生体制改革实施方案")
    return {"doc": doc, "health": health, "insurance": insurance, "finance": finance}


def office_workbook(rows, *, header=HEADER, title="平顶山市医改重点任务台账", spacer=True) -> bytes:
    """A ledger as offices type it: a merged title row, a blank spacer row, the header, then rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    if spacer:
        ws.append([])
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
