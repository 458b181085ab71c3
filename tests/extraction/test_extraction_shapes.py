"""Shapes of real plans beyond the seeds: tables copied one cell per line, sub-items (1)(2) inside a task,
attributions written as prose, and the difference between a document's own 文号 and one it cites."""

from __future__ import annotations

import pytest

from tasks.extraction import extract_plan, read_header

from ._helpers import seed_resolver


@pytest.fixture
def resolver():
    return seed_resolver()


def _brief(result: dict) -> list[tuple]:
    return [
        (
            ".".join(t["path"]),
            t["lead_units"],
            t["responsible_units"],
            t["counties_involved"],
            [(d["text"], d["date"]) for d in t["deadlines"]],
        )
        for t in result["tasks"]
    ]


LINE_TABLE = """XX市卫生健康委员会
关于印发XX市2021年医改重点任务分工的通知
X卫〔2021〕12号
现将《XX市2021年医改重点任务分工》印发给你们，请认真抓好落实。
XX市卫生健康委员会
2021年3月15日
附件
XX市2021年医改重点任务分工表
序号
工作任务
牵头单位
责任单位
完成时限
一、推进分级诊疗制度建设
1
推进紧密型县域医共体建设，整合县域医疗卫生资源，
县域就诊率达到90%以上。
市卫健委
市医保局、市财政局、各县（市、区）政府
2021年底前
2
加强家庭医生签约服务。
市卫健委
2021年6月
二、深化医保支付方式改革
3
推行按病种分值付费。
市医保局
市卫健委
长期坚持
4
完善药品集中采购。
市医保局
持续推进
"""


def test_table_cells_one_per_line_become_rows(resolver):
    result = extract_plan(LINE_TABLE, resolver)
    assert result["doc_number"] == "X卫〔2021〕12号"
    assert _brief(result) == [
        ("附件.一.1", ["市卫生健康委"], ["市医疗保障局", "市财政局"], True, [("2021年底前", "2021-12-31")]),
        ("附件.一.2", ["市卫生健康委"], [], False, [("2021年6月", "2021-06-30")]),
        ("附件.二.3", ["市医疗保障局"], ["市卫生健康委"], False, [("长期坚持", None)]),
        ("附件.二.4", ["市医疗保障局"], [], False, [("持续推进", None)]),
    ]
    first = result["tasks"][0]
    assert "县域就诊率达到90%以上" in first["text"]  # a cell wrapped over two lines stays one cell
    assert [(t["indicator"], t["op"], t["value"], t["by"]) for t in first["targets"]] == [
        ("县域就诊率", ">=", 90, "2021-12-31")
    ]


def test_table_without_a_number_column_one_cell_per_line(resolver):
    text = """2022年医改重点任务分工
重点任务
牵头部门
配合部门
完成时间
建立健全分级诊疗制度，推进医联体建设。
市卫生健康委
市医疗保障局、市财政局
2022年12月底前
深化公立医院综合改革。
市卫生健康委
2022年6月底前
"""
    result = extract_plan(text, resolver)
    assert [
        (t["lead_units"], t["responsible_units"], [d["date"] for d in t["deadlines"]])
        for t in result["tasks"]
    ] == [
        (["市卫生健康委"], ["市医疗保障局", "市财政局"], ["2022-12-31"]),
        (["市卫生健康委"], [], ["2022-06-30"]),
    ]


SUB_ITEMS = """测试市2021年深化医改重点工作任务
一、推进分级诊疗
1.推进医共体建设。(市卫健委牵头,市医保局、市财政局配合)
(1)2021年6月底前完成县域医共体章程制定;
(2)2021年底前实现县域就诊率90%以上。
2.加强家庭医生签约。主要包括:
(1)扩大签约覆盖面;
(2)提升签约服务质量。
(牵头单位:市卫健委;责任单位:市医保局)
3.完善医保支付。
(1)推行按病种分值付费。(市医保局负责)
(2)推进按床日付费。(市医保局、市卫健委负责)
二、加强人才队伍
(一)培养全科医生。(市卫健委负责)
1.扩大订单定向培养规模;
2.实施全科医生转岗培训。
"""


def test_sub_items_without_units_stay_inside_their_task_and_with_units_are_tasks(resolver):
    result = extract_plan(SUB_ITEMS, resolver)
    assert [".".join(t["path"]) for t in result["tasks"]] == [
        "一.1",
        "一.2",
        "一.3.(1)",
        "一.3.(2)",
        "二.(一)",
    ]
    first, second, _, _, last = result["tasks"]
    assert first["lead_units"] == ["市卫生健康委"] and first["responsible_units"] == [
        "市医疗保障局",
        "市财政局",
    ]
    assert "(2)2021年底前实现县域就诊率90%以上" in first["text"]
    assert [(d["text"], d["date"]) for d in first["deadlines"]] == [
        ("2021年6月底前", "2021-06-30"),
        ("2021年底前", "2021-12-31"),
    ]
    assert [(t["op"], t["value"], t["by"]) for t in first["targets"]] == [(">=", 90, "2021-12-31")]
    assert "(2)提升签约服务质量" in second["text"] and second["responsible_units"] == ["市医疗保障局"]
    assert "2.实施全科医生转岗培训" in last["text"] and last["lead_units"] == ["市卫生健康委"]


def test_sub_items_of_an_interpretation_measure_are_its_text(resolver):
    text = """关于《测试市2021年医改重点任务》的解读
一、主要内容
1.推进医共体建设。重点做好三方面工作:
(1)完成章程制定;
(2)推进人财物统一管理。
2.深化医保支付方式改革。2021年底前全面实施按病种分值付费。
"""
    result = extract_plan(text, resolver)
    assert [".".join(t["path"]) for t in result["tasks"]] == ["一.1", "一.2"]
    assert "(2)推进人财物统一管理" in result["tasks"][0]["text"]


INTERPRETATION = """关于《平顶山市2020年深化医改重点工作任务》的政策解读
一、出台背景
为落实《平顶山市深化医药卫生体制改革实施方案》(平政办〔2020〕7号)要求,制定本任务。
二、主要内容
(一)推进分级诊疗制度建设
1.推进医疗健康共同体建设。由市医改领导小组牵头,市卫生健康委负责,各县(市)2020年底前全面推开。
2.深化医保支付方式改革。由市医疗保障局牵头,市卫生健康委、市财政局配合,2021年6月底前实行按病种分值付费。
3.加强全科医生培养。组建由市级医院牵头的培训基地。
三、解读机关
市卫生健康委员会
"""


def test_interpretation_prose_attributions_and_the_cited_plan_number(resolver):
    result = extract_plan(INTERPRETATION, resolver)
    assert result["doc_number"] is None  # 平政办〔2020〕7号 is the interpreted plan's number
    assert result["title"] == "关于《平顶山市2020年深化医改重点工作任务》的政策解读"
    tasks = {".".join(t["path"]): t for t in result["tasks"]}
    assert tasks["二.(一).1"]["lead_units"] == ["市医改领导小组"]
    assert tasks["二.(一).1"]["responsible_units"] == ["市卫生健康委"]
    assert tasks["二.(一).2"]["lead_units"] == ["市医疗保障局"]
    assert tasks["二.(一).2"]["responsible_units"] == ["市卫生健康委", "市财政局"]
    assert tasks["二.(一).2"]["deadlines"] == [{"text": "2021年6月底前", "date": "2021-06-30"}]
    # 由市级医院牵头的培训基地 describes a thing; it names no one answering for the task
    assert tasks["二.(一).3"]["lead_units"] == [] and tasks["二.(一).3"]["responsible_units"] == []


@pytest.mark.parametrize(
    ("text", "doc_number"),
    [
        ("市政府办公室关于印发X的通知\n测政办〔2021〕3号\n各县区:", "测政办〔2021〕3号"),
        ("文号 | 平政办〔2017〕68号 | 索引号 | 005452065/2017-00098 |", "平政办〔2017〕68号"),
        ("发文字号:豫政办〔2019〕5号\n关于印发X的通知", "豫政办〔2019〕5号"),
        ("(国办发〔2022〕14号)\n各省、自治区、直辖市人民政府:", "国办发〔2022〕14号"),
        ("内政办发[2015]103号\n经自治区人民政府同意", "内政办发〔2015〕103号"),
        (
            "关于印发X的通知\n根据《国务院办公厅关于城市公立医院综合改革试点的指导意见》(国办发〔2015〕38号),制定本方案。",
            None,
        ),
        ("为贯彻落实省卫健委等九部门《关于印发X的通知》(青卫健〔2024〕58号)精神,制定本方案。", None),
        ("文 号: | 所属主题: | 政策文件 |\n关于印发X的通知\n按照国办发〔2020〕25号要求", None),
    ],
)
def test_own_document_number_versus_a_cited_one(text, doc_number):
    assert read_header(text)["doc_number"] == doc_number


def test_line_table_with_blank_lines_section_rows_and_a_leader_column(resolver):
    cells = [
        "附件",
        "2022年全市深化医改重点工作任务分工表",
        "序号",
        "重点工作任务",
        "牵头市领导",
        "牵头单位",
        "责任单位",
        "完成时限",
        "（一）",
        "推进分级诊疗制度建设",
        "1.",
        "推进紧密型县域医共体建设。",
        "张某某",
        "市卫生健康委",
        "市医保局、市财政局、各县（市、区）政府",
        "2022年12月底前",
        "2.",
        "加强基层医疗卫生服务能力建设。",
        "张某某",
        "市卫生健康委",
        "市发展改革委",
        "2022年6月底前；2022年12月底前",
        "（二）",
        "深化医保支付方式改革",
        "3.",
        "推行按疾病诊断相关分组（DRG）付费。",
        "李某某",
        "市医保局",
        "市卫生健康委",
        "长期坚持",
    ]
    result = extract_plan("\n\n".join(cells), resolver)  # a blank line between cells, as Word copies them
    assert _brief(result) == [
        (
            "附件.(一).1",
            ["市卫生健康委"],
            ["市医疗保障局", "市财政局"],
            True,
            [("2022年12月底前", "2022-12-31")],
        ),
        (
            "附件.(一).2",
            ["市卫生健康委"],
            ["市发展改革委"],
            False,
            [("2022年6月底前", "2022-06-30"), ("2022年12月底前", "2022-12-31")],
        ),
        ("附件.(二).3", ["市医疗保障局"], ["市卫生健康委"], False, [("长期坚持", None)]),
    ]
    assert all("某某" not in t["text"] for t in result["tasks"])  # the leader's name is not the task's text


def test_pipe_table_leader_column_is_not_a_unit(resolver):
    text = "\n".join(
        [
            "序号 | 工作任务 | 分管领导 | 牵头单位 | 配合单位 | 完成时间",
            "1 | 推进医共体建设。 | 王强 | 市卫健委 | 市医保局 | 2023年底前",
        ]
    )
    task = extract_plan(text, resolver)["tasks"][0]
    assert (task["lead_units"], task["responsible_units"], task["unknown_units"]) == (
        ["市卫生健康委"],
        ["市医疗保障局"],
        [],
    )


@pytest.mark.parametrize(
    ("text", "doc_number"),
    [
        ("市政府办公室关于印发测试市医改重点任务的通知(测政办〔2021〕3号)\n各县区:", "测政办〔2021〕3号"),
        ("根据《关于印发测试市医改重点任务的通知》(测政办〔2021〕3号)\n", None),
        ("关于《测试市深化医改实施方案》的政策解读\n文号:测政办〔2021〕3号\n一、背景", None),
        ("《测试市深化医改实施方案》解读\n测政办〔2021〕3号\n", None),
    ],
)
def test_number_after_a_title_and_numbers_shown_by_an_interpretation(text, doc_number):
    assert read_header(text)["doc_number"] == doc_number


def test_line_table_with_a_content_column_a_deadline_in_words_and_text_after_it(resolver):
    text = "\n".join(
        [
            "附件",
            "序号",
            "重点任务",
            "具体内容",
            "牵头单位",
            "配合单位",
            "完成时限",
            "备注",
            "1",
            "推进分级诊疗",
            "建设紧密型县域医共体，实现县域全覆盖。",
            "市卫健委",
            "市医保局",
            "按国家部署推进",
            "2",
            "深化医保支付",
            "推行按病种分值付费。",
            "市医保局",
            "市卫健委",
            "2022年底",
            "试点先行",
            "三、保障措施",
            "各单位要加强组织领导，明确责任分工，细化工作措施，确保各项任务按期完成。市医改办要加强督导检查，定期通报进展情况。",
        ]
    )
    result = extract_plan(text, resolver)
    assert [
        (t["title"], t["lead_units"], t["responsible_units"], [d["text"] for d in t["deadlines"]])
        for t in result["tasks"]
    ] == [
        ("推进分级诊疗", ["市卫生健康委"], ["市医疗保障局"], ["按国家部署推进"]),
        (
            "深化医保支付",
            ["市医疗保障局"],
            ["市卫生健康委"],
            ["2022年底"],
        ),  # 试点先行 is a remark, not a unit
    ]
    assert result["tasks"][0]["text"] == "推进分级诊疗。建设紧密型县域医共体,实现县域全覆盖。"


def test_line_table_short_title_and_a_stray_number_inside_a_row(resolver):
    text = "\n".join(
        [
            "重点任务分工表",
            "序号",
            "工作任务",
            "牵头单位",
            "责任单位",
            "完成时限",
            "1",
            "推进医共体建设，县域就诊率达到",
            "90",
            "%以上。",
            "市卫健委",
            "市医保局",
            "2022年底前",
            "2",
            "完善医保支付。",
            "市医保局",
            "市卫健委",
            "2022年6月底前",
        ]
    )
    result = extract_plan(text, resolver)
    assert [".".join(t["path"]) for t in result["tasks"]] == ["1", "2"]
    assert result["tasks"][0]["text"].startswith("推进医共体建设,县域就诊率达到90%以上。")
    assert result["tasks"][0]["lead_units"] == ["市卫生健康委"]
    assert result["tasks"][1]["deadlines"] == [{"text": "2022年6月底前", "date": "2022-06-30"}]


def test_prose_naming_a_kind_of_body_is_not_an_attribution(resolver):
    text = "一、主要任务\n1.完善分级诊疗。由政府牵头,医疗机构负责,逐步建立分级诊疗制度。\n2.推进医共体建设。由市卫健委牵头,市医保局配合。\n"
    tasks = extract_plan(text, resolver)["tasks"]
    assert [(t["lead_units"], t["responsible_units"]) for t in tasks] == [
        ([], []),
        (["市卫生健康委"], ["市医疗保障局"]),
    ]


def test_line_table_cell_wrapped_inside_brackets(resolver):
    text = "\n".join(
        [
            "序号",
            "工作任务",
            "牵头单位",
            "责任单位",
            "完成时限",
            "1",
            "推进医共体建设，整合县域医疗",
            "卫生资源。",
            "市卫健委",
            "市医保局、市财政局、各县（市、",
            "区）政府",
            "2022年底前",
        ]
    )
    task = extract_plan(text, resolver)["tasks"][0]
    assert task["text"] == "推进医共体建设,整合县域医疗卫生资源。"
    assert (task["lead_units"], task["responsible_units"], task["counties_involved"]) == (
        ["市卫生健康委"],
        ["市医疗保障局", "市财政局"],
        True,
    )
    assert task["deadlines"] == [{"text": "2022年底前", "date": "2022-12-31"}]


def test_label_lines_after_a_short_heading_are_not_a_table_header(resolver):
    text = "\n".join(
        [
            "一、主要任务",
            "(一)重点工作",
            "1.推进医共体建设。",
            "牵头单位:市卫健委",
            "责任单位:市医保局",
            "完成时限:2022年底",
            "2.完善医保支付。",
            "牵头单位:市医保局",
            "完成时限:2022年6月",
        ]
    )
    tasks = extract_plan(text, resolver)["tasks"]
    assert [
        (".".join(t["path"]), t["lead_units"], t["responsible_units"], [d["date"] for d in t["deadlines"]])
        for t in tasks
    ] == [
        ("一.(一).1", ["市卫生健康委"], ["市医疗保障局"], ["2022-12-31"]),
        ("一.(一).2", ["市医疗保障局"], [], ["2022-06-30"]),
    ]


def test_an_enumeration_closed_by_one_attribution_is_its_parent_task(resolver):
    text = "\n".join(
        [
            "一、推进分级诊疗",
            "1.推进医共体建设。主要包括:",
            "(1)完成章程制定;",
            "(2)推进人财物统一管理。(市卫健委牵头,市医保局配合)",
            "2.完善医保支付。主要包括:",
            "(1)推行按病种分值付费;",
            "(2)推进按床日付费。(市医保局负责)",
        ]
    )
    tasks = extract_plan(text, resolver)["tasks"]
    assert [(".".join(t["path"]), t["lead_units"], t["responsible_units"]) for t in tasks] == [
        ("一.1", ["市卫生健康委"], ["市医疗保障局"]),
        ("一.2", ["市医疗保障局"], []),
    ]
    assert "(1)完成章程制定" in tasks[0]["text"]


@pytest.mark.parametrize(
    ("sentence", "lead", "responsible", "counties"),
    [
        ("由市卫健委、市医保局共同负责,年底前完成。", ["市卫生健康委"], ["市医疗保障局"], False),
        ("由市卫健委、市医保局分别负责。", ["市卫生健康委", "市医疗保障局"], [], False),
        (
            "明确由市卫健委牵头负责,市财政局、市医保局配合,各县(市、区)政府落实。",
            ["市卫生健康委"],
            ["市财政局", "市医疗保障局"],
            True,
        ),
    ],
)
def test_prose_attribution_wordings(resolver, sentence, lead, responsible, counties):
    text = f"关于《测试市医改任务》的解读\n一、主要内容\n1.推进医共体建设。{sentence}推动优质资源下沉。\n"
    task = extract_plan(text, resolver)["tasks"][0]
    assert (task["lead_units"], task["responsible_units"], task["counties_involved"]) == (
        lead,
        responsible,
        counties,
    )


def test_line_table_header_names_wrapped_in_narrow_columns(resolver):
    text = "\n".join(
        [
            "序",
            "号",
            "工作任务",
            "牵头",
            "单位",
            "责任单位",
            "完成",
            "时限",
            "1",
            "推进医共体建设。",
            "市卫健委",
            "市医保局",
            "2022年底前",
            "2",
            "完善医保支付。",
            "市医保局",
            "市卫健委",
            "2022年6月底前",
        ]
    )
    tasks = extract_plan(text, resolver)["tasks"]
    assert [
        (".".join(t["path"]), t["lead_units"], t["responsible_units"], [d["date"] for d in t["deadlines"]])
        for t in tasks
    ] == [
        ("1", ["市卫生健康委"], ["市医疗保障局"], ["2022-12-31"]),
        ("2", ["市医疗保障局"], ["市卫生健康委"], ["2022-06-30"]),
    ]


def test_line_table_with_only_a_responsible_column_marking_the_lead(resolver):
    text = "\n".join(
        [
            "序号",
            "重点任务",
            "责任单位",
            "完成时限",
            "1",
            "推进医共体建设。",
            "市医保局、市卫健委（牵头）、市财政局",
            "2022年底前",
        ]
    )
    task = extract_plan(text, resolver)["tasks"][0]
    assert (task["lead_units"], task["responsible_units"]) == (["市卫生健康委"], ["市医疗保障局", "市财政局"])


def test_pdf_table_rows_with_cells_apart_by_spaces(resolver):
    # what a PDF text layer gives for a table: one line per row, cells apart by spaces; a long cell wraps
    text = "\n".join(
        [
            "附件",
            "2022年医改重点任务分工表",
            "序号 重点任务 牵头单位 责任单位 完成时限",
            "1 推进紧密型县域医共体建设,整合县域医疗卫生资源, 市卫健委 市医保局、市财政局 2022年底前",
            "县域就诊率达到90%以上。",
            "2 完善医保支付。 市医保局 市卫健委 2022年6月底前",
            "3 加强全科医生培养。 市卫健委 市人社局、各县(市、区)政府 长期坚持",
        ]
    )
    result = extract_plan(text, resolver)
    assert _brief(result) == [
        ("附件.1", ["市卫生健康委"], ["市医疗保障局", "市财政局"], False, [("2022年底前", "2022-12-31")]),
        ("附件.2", ["市医疗保障局"], ["市卫生健康委"], False, [("2022年6月底前", "2022-06-30")]),
        ("附件.3", ["市卫生健康委"], ["市人力资源和社会保障局"], True, [("长期坚持", None)]),
    ]
    first = result["tasks"][0]
    assert first["text"].endswith("县域就诊率达到90%以上。")
    assert [(t["op"], t["value"], t["by"]) for t in first["targets"]] == [(">=", 90, "2022-12-31")]
