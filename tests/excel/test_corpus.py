"""Published 分工表 (tests/excel/corpus, see its README) read as a new office would upload them.

Every workbook comes from a real document; the expectations were checked by hand against the published text:
which sheet and header row, which column became which field, how many task rows, and for some rows the numbering,
the units (former names and short forms resolved, 等 dropped, county phrases as counties) and the deadlines.
Names no unit in the demo ledger has are created (--add-units), so the units of other cities appear as written.
"""

from pathlib import Path

import pytest

from tasks.demo import load_demo_units
from tasks.ledger_import import ledger_import

CORPUS = Path(__file__).parent / "corpus"
NO_TITLE = "测试〔2024〕1号"  # the two workbooks without a title row are imported with --document

EXPECTED = {
    "xuchang-2020-gzbg.xlsx": {
        "document": {"doc_number": "许政〔2020〕20号", "title": "《政府工作报告》提出的2020年重点工作任务分解", "created": True},
        "sheet": "任务分解", "header_row": 3,
        "columns": {"path": "序号", "title": "重点工作", "responsible_units": "责任单位", "lead_units": "责任单位"},
        "rows": 2,
        "check": {
            5: (["一", "1"], ["市疫情防控指挥部办公室"], ["市卫生健康委"], True, []),
        },
    },
    "chuzhou-2020-zdgz.xlsx": {
        "document": {"doc_number": None, "title": "2020年市政府重点工作及责任分解", "created": True},
        "sheet": "2020年重点工作", "header_row": 2,
        "columns": {"path": "序号", "title": "重点工作", "lead_units": "牵头责任单位", "responsible_units": "协同责任单位"},
        "rows": 3,
        "check": {
            4: (["一", "1"], ["市发展改革委"], ["市工业和信息化局", "市商务局", "市交通局", "市农业农村局"], True, []),
            5: (["一", "2"], ["市财政局"], ["市税务局", "滁州海关", "市人行"], True, []),
        },
    },
    "lishan-2023-zdgz.xlsx": {
        "document": {"doc_number": "鞍立政发〔2023〕2号", "title": "立山区政府2023年重点工作任务分解和责任分工方案", "created": True},
        "sheet": "分工方案", "header_row": 3,
        "columns": {"path": "序号", "title": "工作任务", "lead_units": "牵头单位", "responsible_units": "责任单位"},
        "rows": 6,
        "check": {
            8: (["一", "4"], ["区商务局"], ["区市场局"], False, []),
            9: (["一", "5"], ["区财政局"], ["市税务局"], True, []),
        },
        "kept": ["全区经济运行各专班", "各街道", "区直各部门", "各相关单位"],
    },
    "tianjin-yilianti.xls": {
        "document": {"doc_number": NO_TITLE, "title": NO_TITLE, "created": True},
        "sheet": "Sheet1", "header_row": 1,
        "columns": {"path": "序号", "title": "重点任务", "text": "工作内容", "responsible_units": "责任单位", "lead_units": "责任单位"},
        "rows": 3,
        "check": {
            2: (["1"], ["市卫生健康委"], ["市人力资源和社会保障局"], False, []),  # 市卫生计生委、市人力社保局
            4: (["3"], ["市卫生健康委"], ["市发展改革委", "市财政局", "市人力资源和社会保障局"], False, []),
        },
    },
    "xianyang-2022-fgf.xlsx": {
        "document": {"doc_number": None, "title": "咸阳市2022年深化“放管服”改革优化营商环境工作要点任务分工", "created": True},
        "sheet": "工作要点", "header_row": 2,
        "columns": {"path": "序号", "title": "主要任务", "lead_units": "牵头单位", "responsible_units": "责任单位", "deadlines": "完成时限"},
        "rows": 1,
        "check": {4: (["一", "1"], ["市政府办公室", "市行政审批制度改革工作领导小组办公室"], [], True, ["2022-10-31"])},
        "kept": ["市级各有关部门"],
    },
    "tongxin-2023-gzbg.xlsx": {
        "document": {"doc_number": None, "title": "同心县2023年《政府工作报告》任务分解", "created": True},
        "sheet": "任务分解", "header_row": 2,
        "columns": {"path": "序号", "title": "具体任务", "lead_units": "责任单位", "responsible_units": "配合单位", "deadlines": "完成时限"},
        "rows": 1,
        "check": {3: (["1"], ["卫健局", "文旅局"], [], False, ["2023-01-31", "2023-12-31"])},
        "kept": ["各乡镇"],
    },
    "lingbi-2021-gzbg.xlsx": {
        "document": {"doc_number": None, "title": "县卫健委2021年政府工作报告任务分解", "created": True},
        "sheet": "任务分解", "header_row": 2,
        "columns": {"path": "序号", "title": "任务", "lead_units": "牵头责任单位", "responsible_units": "主要协作单位"},
        "rows": 5,
        "check": {3: (["1"], ["县卫健委", "县民政局"], [], True, [])},  # 经济开发区管委会: county level
        "kept": ["各乡镇人民政府", "县政府有关部门", "有关直属单位"],
    },
    "minsheng-2024-traditional.xlsx": {
        "document": {"doc_number": NO_TITLE, "title": NO_TITLE, "created": True},
        "sheet": "民生實事", "header_row": 1,
        "columns": {"path": "序號", "title": "任務項目指標", "responsible_units": "責任單位", "progress": "進展比例"},
        "rows": 12,
        "check": {
            2: (["1"], [], ["区卫生健康局"], False, []),
            5: (["4"], [], ["区红十字会"], False, []),
        },
        "titles": {2: "为3.078万60岁以上老年人免费接种流感疫苗。"},
    },
    "pingdingshan-2020-fengong.xlsx": {
        "document": {"doc_number": "平办〔2020〕7号", "title": "平顶山市深化医药卫生体制改革实施方案任务分工表", "created": True},
        "sheet": "任务分工", "header_row": 5,
        "columns": {"path": "序号", "title": "重点任务", "lead_units": "牵头单位", "responsible_units": "责任单位", "deadlines": "完成时限"},
        "rows": 9,
        "check": {
            8: (["二", "(一)", "1"], ["市卫生健康委"], ["市发展改革委", "市财政局", "市医疗保障局"], True, ["2020-12-31", "2022-12-31"]),
            11: (["二", "(一)", "4"], ["市卫生健康委"], ["市医疗保障局"], True, ["2021-12-31"]),
            17: (["二", "(二)", "4"], ["市医疗保障局"], ["市卫生健康委", "市财政局"], True, []),
        },
    },
    "shijiazhuang-2020h2-fengong.xls": {
        "document": {"doc_number": "石政办函〔2020〕32号", "title": "石家庄市2020年下半年深化医药卫生体制改革重点工作任务分工", "created": True},
        "sheet": "重点工作任务", "header_row": 3,
        "columns": {"path": "序号", "title": "重点工作任务", "responsible_units": "责任单位", "lead_units": "责任单位"},
        "rows": 9,
        "check": {
            5: (["一", "(一)"], ["市卫生健康委"], ["市委编办"], False, []),
            7: (["一", "(三)"], ["市卫生健康委"], ["市发展改革委", "市工业和信息化局", "市财政局", "石家庄海关"], False, []),
        },
    },
}  # fmt: skip


def test_the_corpus_has_ten_published_documents_and_no_file_without_expectations():
    files = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".xlsx", ".xls"))
    assert files == sorted(EXPECTED)
    assert len(files) >= 10 and any(f.endswith(".xls") for f in files)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_published_division_table_previews_as_checked_by_hand(db, name):
    load_demo_units()
    want = EXPECTED[name]
    no_title = want["document"]["doc_number"] == NO_TITLE
    result = ledger_import(
        data=(CORPUS / name).read_bytes(), add_units=True, doc_number=NO_TITLE if no_title else None
    )
    preview = result.as_json()
    assert preview["errors"] == []
    assert preview["document"] == want["document"]
    assert (preview["sheet"], preview["header_row"]) == (want["sheet"], want["header_row"])
    assert preview["columns"] == want["columns"]
    assert len(preview["rows"]) == want["rows"] == preview["summary"]["created"]
    rows = {r["row"]: r for r in preview["rows"]}
    for excel_row, (path, lead, responsible, counties, dates) in want["check"].items():
        row = rows[excel_row]
        assert row["path"] == path, excel_row
        assert row["lead_units"] == lead, excel_row
        assert row["responsible_units"] == responsible, excel_row
        assert row["counties_involved"] is counties, excel_row
        assert [d["date"] for d in row["deadlines"]] == dates, excel_row
    for excel_row, title in want.get("titles", {}).items():
        assert rows[excel_row]["title"] == title
    assert sorted(result.kept_names) == sorted(want.get("kept", []))
    assert "ALL" not in str(preview)
