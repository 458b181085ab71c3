"""Plans written the other ways this genre is written: 第X条 articles, lost Word numbering,
①/(1) items, attachments that restart the numbering, other attribution wording, reporting
clauses, deadline and target phrasing, merged table cells, and a PDF text layer.

Every plan here is hand-written for the test (no sentence of the seed plans), in the style of
city and district documents of other provinces.
"""

from __future__ import annotations

import io

import pytest

from tasks.extraction import UnitResolver, extract_plan, read_plan_file

ALIASES = {
    "市卫健委": "市卫生健康委",
    "卫生健康委": "市卫生健康委",
    "市卫生健康委员会": "市卫生健康委",
    "市医保局": "市医疗保障局",
    "医疗保障局": "市医疗保障局",
    "市财政局": "市财政局",
    "市人社局": "市人力资源和社会保障局",
    "市发改委": "市发展改革委",
    "市教育局": "市教育局",
    "市民政局": "市民政局",
    "市市场监管局": "市市场监督管理局",
    "区卫健局": "区卫生健康局",
    "区医保局": "区医疗保障局",
    "县卫健局": "县卫生健康局",
    "县医保局": "县医疗保障局",
}
CANONICAL = ["市委编办", "市委组织部", "市委宣传部", "市司法局", "区财政局", "区市场监管局", "县财政局"]


@pytest.fixture(scope="module")
def resolver():
    return UnitResolver(ALIASES, canonical_names=CANONICAL)


def paths(result: dict) -> list[list[str]]:
    return [t["path"] for t in result["tasks"]]


def section(*items: str, header: str = "XX市2023年深化医药卫生体制改革重点工作任务\n") -> str:
    return header + "一、深化分级诊疗制度建设\n" + "\n".join(items) + "\n"


def only_task(text: str, resolver) -> dict:
    result = extract_plan(text, resolver)
    assert len(result["tasks"]) == 1, paths(result)
    return result["tasks"][0]


# ---------------------------------------------------------------- numbering styles

ARTICLES_PLAN = """\
XX市卫生健康委员会 XX市医疗保障局
关于印发《XX市推进紧密型县域医疗卫生共同体建设工作方案》的通知
X卫发〔2023〕5号
各县（市、区）卫生健康局、医疗保障局：
　　现将《XX市推进紧密型县域医疗卫生共同体建设工作方案》印发给你们，请结合实际认真组织实施。
XX市卫生健康委员会　　XX市医疗保障局
2023年3月8日
XX市推进紧密型县域医疗卫生共同体建设工作方案
第一章　总　则
第一条　为整合县域医疗卫生资源，提升基层服务能力，根据国家和省有关文件精神，结合我市实际，制定本方案。
第二条　本方案适用于全市各县（市、区）。
第二章　重点任务
第三条　健全医共体管理体制。各县（市、区）成立由党委或政府主要负责同志任主任的医共体管理委员会，统筹医共体规划建设、投入保障和人事安排。2023年6月底前完成组建。（牵头单位：市卫健委；配合单位：市委编办、市财政局）
第四条　推进医保基金打包付费。对医共体实行医保基金总额付费，结余留用、合理超支分担，2024年起在全市推开。（责任单位：市医保局（牵头）、市卫健委、市财政局）
第三章　保障措施
第五条　强化督导考核。将医共体建设纳入县级党委政府目标考核，年底前开展一次评估。（市卫健委牵头，市直有关部门配合）
"""


def test_chapters_and_articles_are_numbering_levels(resolver):
    result = extract_plan(ARTICLES_PLAN, resolver)
    assert result["doc_number"] == "X卫发〔2023〕5号"
    assert result["issued_on"] == "2023-03-08"
    assert paths(result) == [["第二章", "第三条"], ["第二章", "第四条"], ["第三章", "第五条"]]
    first, second, third = result["tasks"]
    assert first["title"] == "健全医共体管理体制"
    assert first["lead_units"] == ["市卫生健康委"]
    assert first["responsible_units"] == ["市委编办", "市财政局"]
    assert first["deadlines"] == [{"text": "2023年6月底前", "date": "2023-06-30"}]
    assert second["lead_units"] == ["市医疗保障局"]
    assert second["responsible_units"] == ["市卫生健康委", "市财政局"]
    assert third["responsible_units"] == ["市直有关部门"]
    assert third["deadlines"] == [{"text": "年底前", "date": "2023-12-31"}]


LOST_NUMBERING_PLAN = """\
XX区2022年深化医药卫生体制改革重点工作任务

为持续深化医药卫生体制改革，结合我区实际，现提出2022年重点工作任务如下。

一、加快构建有序就医格局

推进紧密型县域医共体建设。以区人民医院为龙头整合镇街卫生院，2022年底前医共体覆盖全部镇街，区域内就诊率达到90%以上。（区卫健局牵头，医保局、财政局配合）

提升家庭医生签约服务质量。优化签约服务包，重点人群签约率不低于75%。（区卫健局负责）

二、深入推广三明医改经验

深化药品耗材集中带量采购。按时落实国家和省集采中选结果，6月底前完成年度采购量报送。（区医保局牵头，区卫健局、区市场监管局配合）
"""


def test_paragraphs_that_end_with_an_attribution_are_tasks_when_word_numbering_is_lost(resolver):
    result = extract_plan(LOST_NUMBERING_PLAN, resolver)
    assert paths(result) == [["一", "1"], ["一", "2"], ["二", "1"]]
    first, second, third = result["tasks"]
    assert first["title"] == "推进紧密型县域医共体建设"
    assert first["lead_units"] == ["区卫生健康局"]
    assert first["responsible_units"] == ["区医疗保障局", "区财政局"]
    assert second["title"] == "提升家庭医生签约服务质量"
    assert second["lead_units"] == ["区卫生健康局"]
    assert [(t["op"], t["value"]) for t in second["targets"]] == [(">=", 75)]
    assert third["lead_units"] == ["区医疗保障局"]
    assert third["responsible_units"] == ["区卫生健康局", "区市场监管局"]
    assert third["deadlines"] == [{"text": "6月底前", "date": "2022-06-30"}]


def test_one_body_paragraph_under_a_heading_stays_that_heading_task(resolver):
    text = section("（一）推进紧密型医共体建设", "整合县域医疗资源，2023年底前实现全覆盖。（市卫健委负责）")
    task = only_task(text, resolver)
    assert task["path"] == ["一", "(一)"]
    assert task["title"] == "推进紧密型医共体建设"


def test_yishi_ershi_measures_stay_inside_their_task(resolver):
    text = section(
        "（一）完善基层医疗卫生服务体系。一是推进乡镇卫生院标准化建设，2023年底前达标率达到100%；",
        "二是加强村卫生室规范化管理；三是落实乡村医生待遇保障。（市卫健委牵头，市财政局、市人社局配合）",
        "（二）推进医保支付方式改革。（市医保局负责）",
    )
    result = extract_plan(text, resolver)
    assert paths(result) == [["一", "(一)"], ["一", "(二)"]]
    first = result["tasks"][0]
    assert "二是加强村卫生室" in first["text"] and "三是落实乡村医生" in first["text"]
    assert first["responsible_units"] == ["市财政局", "市人力资源和社会保障局"]


def test_circled_and_half_bracket_items_are_nested_tasks(resolver):
    text = section(
        "（一）强化公共卫生服务",
        "1.加强疾病预防控制体系建设",
        "①改善疾控机构基础设施条件。（市卫健委牵头，市发改委配合）",
        "②完善疾控人员薪酬制度。（市人社局牵头，市卫健委、市财政局配合）",
        "2.做实基本公共卫生服务",
        "1）规范老年人健康管理。（市卫健委负责）",
        "2）开展重点人群健康教育。（市卫健委、市教育局分别负责）",
    )
    result = extract_plan(text, resolver)
    assert paths(result) == [
        ["一", "(一)", "1", "①"],
        ["一", "(一)", "1", "②"],
        ["一", "(一)", "2", "(1)"],
        ["一", "(一)", "2", "(2)"],
    ]
    assert result["tasks"][1]["lead_units"] == ["市人力资源和社会保障局"]
    assert result["tasks"][3]["lead_units"] == ["市卫生健康委", "市教育局"]


ATTACHMENT_PLAN = """\
XX市深化医药卫生体制改革领导小组办公室
关于印发2023年全市医改重点工作任务的通知
X医改办〔2023〕2号
各县（市、区）医改办，市医改领导小组各成员单位：
　　现将《2023年全市医改重点工作任务分工》印发给你们，请认真贯彻落实，并提出以下要求。
　　一、提高思想认识。各地各部门要把深化医改摆在重要位置。
　　二、按时报送进展。请各牵头单位于每季度末月20日前将工作进展报送市医改办，年底前报送年度总结。
XX市深化医药卫生体制改革领导小组办公室
2023年2月20日
附件：2023年全市医改重点工作任务分工
一、促进优质医疗资源扩容下沉
1.推进国家区域医疗中心建设。（牵头单位：市卫健委；配合单位：市发改委、市财政局）
2.建设城市医疗集团。（牵头单位：市卫健委；配合单位：市医保局）
二、深化医疗保障制度改革
1.推进DRG付费改革全覆盖。（牵头单位：市医保局；配合单位：市卫健委）
"""


def test_numbering_restarts_inside_the_attachment(resolver):
    result = extract_plan(ATTACHMENT_PLAN, resolver)
    assert result["doc_number"] == "X医改办〔2023〕2号"
    assert result["issued_on"] == "2023-02-20"
    assert paths(result) == [["附件", "一", "1"], ["附件", "一", "2"], ["附件", "二", "1"]]
    assert result["tasks"][0]["responsible_units"] == ["市发展改革委", "市财政局"]


def test_quarterly_and_year_end_reporting_clauses_give_month_and_day(resolver):
    result = extract_plan(ATTACHMENT_PLAN, resolver)
    got = [(r["month"], r["day"]) for r in result["reporting_dates"]]
    assert got == [(3, 20), (6, 20), (9, 20), (12, 20), (12, 31)]
    assert all(r["text"] for r in result["reporting_dates"])


# ---------------------------------------------------------------- attribution wording


@pytest.mark.parametrize(
    ("attribution", "lead", "responsible"),
    [
        ("（牵头单位：市卫健委；配合单位：市委编办、市财政局）", ["市卫生健康委"], ["市委编办", "市财政局"]),
        ("（责任单位：市医保局（牵头）、市卫健委）", ["市医疗保障局"], ["市卫生健康委"]),
        ("（市卫健委牵头，市医保局、市财政局配合）", ["市卫生健康委"], ["市医疗保障局", "市财政局"]),
        (
            "（牵头单位：市卫健委；责任单位：市医保局/市财政局/市民政局）",
            ["市卫生健康委"],
            ["市医疗保障局", "市财政局", "市民政局"],
        ),
        (
            "（牵头单位：市卫健委；责任单位：市医保局　市财政局　市民政局）",
            ["市卫生健康委"],
            ["市医疗保障局", "市财政局", "市民政局"],
        ),
        (
            "（牵头单位：市卫健委；责任单位：市医保局,市财政局，市民政局）",
            ["市卫生健康委"],
            ["市医疗保障局", "市财政局", "市民政局"],
        ),
        ("（市委组织部、市委编办、市人社局负责）", ["市委组织部"], ["市委编办", "市人力资源和社会保障局"]),
        ("（市委宣传部牵头，市卫健委配合）", ["市委宣传部"], ["市卫生健康委"]),
        ("（区卫健局牵头，医保局、财政局配合）", ["区卫生健康局"], ["区医疗保障局", "区财政局"]),
        ("（县卫健局、医保局、财政局负责）", ["县卫生健康局"], ["县医疗保障局", "县财政局"]),
        (
            "【牵头单位】市卫健委【责任单位】市医保局、市财政局",
            ["市卫生健康委"],
            ["市医疗保障局", "市财政局"],
        ),
        ("（牵头：市卫健委；配合：市医保局、市财政局）", ["市卫生健康委"], ["市医疗保障局", "市财政局"]),
        ("（责任单位：各县（市、区）政府，市医保局、卫健委）", ["市医疗保障局"], ["市卫生健康委"]),
    ],
)
def test_attribution_wordings(resolver, attribution, lead, responsible):
    task = only_task(section(f"（一）推进公立医院综合改革。{attribution}"), resolver)
    assert task["lead_units"] == lead
    assert task["responsible_units"] == responsible
    assert task["unknown_units"] == []


def test_generic_unit_words_are_kept_as_written_and_not_invented(resolver):
    task = only_task(
        section("（一）落实政府办医责任。（市卫健委牵头，市直有关部门、各有关单位配合）"), resolver
    )
    assert task["lead_units"] == ["市卫生健康委"]
    assert task["responsible_units"] == ["市直有关部门", "各有关单位"]


def test_provincial_unit_is_kept_with_its_prefix(resolver):
    task = only_task(section("（一）建设省级区域医疗中心。（省卫健委、市卫健委、市发改委负责）"), resolver)
    assert task["lead_units"] == ["省卫健委"]
    assert task["responsible_units"] == ["市卫生健康委", "市发展改革委"]
    assert task["unknown_units"] == ["省卫健委"]


def test_counties_do_the_work_and_the_guiding_department_leads(resolver):
    task = only_task(section("（一）落实村医养老保障。（各县（市、区）政府负责，市卫健委指导）"), resolver)
    assert task["counties_involved"] is True
    assert task["lead_units"] == ["市卫生健康委"]
    assert task["responsible_units"] == []


def test_county_departments_mean_counties_are_involved(resolver):
    task = only_task(
        section("（一）推进基层机构建设。（市卫健委牵头，各县（市、区）卫健局负责落实）"), resolver
    )
    assert task["counties_involved"] is True
    assert task["lead_units"] == ["市卫生健康委"]
    assert task["responsible_units"] == []


def test_attribution_on_its_own_line_after_the_task(resolver):
    text = section(
        "（一）完善分级诊疗技术标准。制定常见病种出入院标准和双向转诊规范。",
        "（市卫健委牵头，市医保局配合）",
        "（二）推进远程医疗服务。（市卫健委负责）",
    )
    result = extract_plan(text, resolver)
    assert paths(result) == [["一", "(一)"], ["一", "(二)"]]
    assert result["tasks"][0]["lead_units"] == ["市卫生健康委"]
    assert result["tasks"][0]["responsible_units"] == ["市医疗保障局"]


# ---------------------------------------------------------------- reporting dates


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("各牵头单位于每季度末月20日前报送工作进展。", [(3, 20), (6, 20), (9, 20), (12, 20)]),
        ("请于每年6月底和12月底前报送工作进展情况。", [(6, 30), (12, 31)]),
        ("各责任单位年底前报送年度总结。", [(12, 31)]),
        ("请于7月10日前报送上半年工作总结。", [(7, 10)]),
    ],
)
def test_reporting_clauses(resolver, clause, expected):
    text = section("（一）推进医共体建设。（市卫健委负责）") + "二、工作要求\n" + clause + "\n"
    result = extract_plan(text, resolver)
    assert [(r["month"], r["day"]) for r in result["reporting_dates"]] == expected


def test_reporting_within_days_after_the_quarter_is_kept_as_a_rule(resolver):
    text = (
        section("（一）推进医共体建设。（市卫健委负责）")
        + "二、工作要求\n各单位于每季度结束后5个工作日内报送进展情况。\n"
    )
    result = extract_plan(text, resolver)
    assert result["reporting_dates"] == []
    assert result["reporting_rules"] == [{"text": "每季度结束后5个工作日内报送"}]


# ---------------------------------------------------------------- deadlines


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2023年6月底前全面推开", [("2023年6月底前", "2023-06-30")]),
        ("2022—2025年分步推进", [("2022—2025年", "2025-12-31")]),
        ("2023年第三季度完成验收", [("2023年第三季度", "2023-09-30")]),
        ("今年年底前完成", [("今年年底前", "2023-12-31")]),
        ("年内完成", [("年内", "2023-12-31")]),
        ("次年3月底前完成评估", [("次年3月底前", "2024-03-31")]),
        ("明年6月前完成", [("明年6月前", "2024-06-30")]),
    ],
)
def test_deadline_wordings(resolver, written, expected):
    task = only_task(section(f"（一）推进智慧医院建设。{written}。（市卫健委负责）"), resolver)
    assert [(d["text"], d["date"]) for d in task["deadlines"]] == expected


@pytest.mark.parametrize("written", ["长期坚持", "持续推进", "2023年起"])
def test_open_ended_deadlines_in_the_attribution_are_text_without_date(resolver, written):
    task = only_task(section(f"（一）推进智慧医院建设。（市卫健委负责，{written}）"), resolver)
    assert task["deadlines"] == [{"text": written, "date": None}]


def test_start_years_in_running_text_are_not_deadlines(resolver):
    task = only_task(
        section("（一）推进智慧医院建设。2023年起持续推进电子病历评级。（市卫健委负责）"), resolver
    )
    assert task["deadlines"] == []


# ---------------------------------------------------------------- targets


@pytest.mark.parametrize(
    ("written", "indicator", "op", "value", "unit"),
    [
        ("药品收入占比控制在30%以内", "药品收入占比", "<=", 30, "%"),
        ("住院患者满意度不低于85%", "住院患者满意度", ">=", 85, "%"),
        ("电子健康档案建档率达到100%", "电子健康档案建档率", ">=", 100, "%"),
        ("每千人口执业（助理）医师数达到2.9人", "每千人口执业(助理)医师数", ">=", 2.9, "人"),
        (
            "个人卫生支出占卫生总费用的比重降低5个百分点",
            "个人卫生支出占卫生总费用的比重",
            "+=",
            -5,
            "个百分点",
        ),
        ("基层诊疗量占比提高到65%左右", "基层诊疗量占比", "~", 65, "%"),
        ("医疗服务收入增长10%以上", "医疗服务收入增幅", ">=", 10, "%"),
    ],
)
def test_target_wordings(resolver, written, indicator, op, value, unit):
    task = only_task(
        section(f"（一）推进公立医院高质量发展。到2025年，{written}。（市卫健委负责）"), resolver
    )
    assert len(task["targets"]) == 1, task["targets"]
    t = task["targets"][0]
    assert (t["indicator"], t["op"], t["value"], t["unit"], t["by"]) == (
        indicator,
        op,
        value,
        unit,
        "2025-12-31",
    )


def test_full_coverage_without_a_number_is_not_a_target(resolver):
    task = only_task(section("（一）推进医共体建设。2023年实现县域医共体全覆盖。（市卫健委负责）"), resolver)
    assert task["targets"] == []


# ---------------------------------------------------------------- tables


MERGED_TABLE_PLAN = """\
XX县2023年医改重点任务清单
序号 | 工作任务 | 牵头单位 | 配合单位 | 完成时限
一 | 推进县域医共体建设 |  |  | 
1 | 完善医共体章程和管理制度 | 县卫健局 | 县医保局、县财政局 | 2023年6月底前
2 | 统一医共体内药品目录 |  |  | 
3 | 推进医共体信息系统互联互通 | 县卫健局 | 县财政局 | 2023年12月底前
二 | 深化医保支付方式改革 |  |  | 
1 | 实行医保基金总额付费 | 县医保局 | 县卫健局 | 长期坚持
"""


def test_text_table_blank_cells_continue_the_merged_cells_above(resolver):
    result = extract_plan(MERGED_TABLE_PLAN, resolver)
    assert paths(result) == [["一", "1"], ["一", "2"], ["一", "3"], ["二", "1"]]
    second = result["tasks"][1]
    assert second["title"] == "统一医共体内药品目录"
    assert second["lead_units"] == ["县卫生健康局"]
    assert second["responsible_units"] == ["县医疗保障局", "县财政局"]
    assert second["deadlines"] == [{"text": "2023年6月底前", "date": "2023-06-30"}]
    assert result["tasks"][3]["deadlines"] == [{"text": "长期坚持", "date": None}]


def _docx_with_vertical_merge() -> bytes:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("XX市2023年医改重点任务分工表")
    rows = [
        ["序号", "重点任务", "牵头单位", "责任单位", "完成时限"],
        ["1", "推进城市医疗集团建设", "市卫健委", "市医保局", "2023年底前"],
        ["2", "推进紧密型县域医共体建设", "", "", ""],
        ["3", "完善医保基金监管", "市医保局", "市卫健委", "2023年9月底前"],
    ]
    grid = document.add_table(rows=len(rows), cols=len(rows[0]))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value:
                grid.cell(r, c).text = value
    for col in (2, 3, 4):  # lead, responsible and deadline merged over tasks 1 and 2
        grid.cell(1, col).merge(grid.cell(2, col))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_vertically_merged_unit_cells_apply_to_every_row(resolver):
    text = read_plan_file(_docx_with_vertical_merge(), filename="tasks.docx")
    result = extract_plan(text, resolver)
    assert paths(result) == [["1"], ["2"], ["3"]]
    for task in result["tasks"][:2]:
        assert task["lead_units"] == ["市卫生健康委"]
        assert task["responsible_units"] == ["市医疗保障局"]
        assert task["deadlines"] == [{"text": "2023年底前", "date": "2023-12-31"}]
    assert result["tasks"][2]["lead_units"] == ["市医疗保障局"]


def test_several_guiding_departments_first_listed_leads(resolver):
    task = only_task(
        section("（一）推进紧密型县域医共体建设。（各县（市、区）政府负责，市卫健委、市医保局指导）"),
        resolver,
    )
    assert task["counties_involved"] is True
    assert task["lead_units"] == ["市卫生健康委"]
    assert task["responsible_units"] == ["市医疗保障局"]


def test_count_named_before_its_number_gives_a_readable_indicator(resolver):
    task = only_task(
        section("（一）提升基层服务能力。年内建成社区医院3家，新建5个县域医疗次中心。（市卫健委负责）"),
        resolver,
    )
    assert [(t["indicator"], t["op"], t["value"], t["unit"], t["by"]) for t in task["targets"]] == [
        ("社区医院建设数", "=", 3, "家", "2023-12-31"),
        ("新建县域医疗次中心数", "=", 5, "个", "2023-12-31"),
    ]


PLAN_WITH_LABEL_LINES = """\
XX市2023年深化醫藥衛生體制改革重點工作安排
一、加強公共衛生體系建設
1.完善疾病預防控制體系。推進疾控機構標準化建設，2023年底前
市級疾控中心實驗室檢測能力達到100項以上。
牽頭單位：市衛健委
配合單位：市發改委、市財政局、市人社局
完成時限：2023年12月
2.提升基層衛生服務能力。
①推進鄉鎮衛生院提檔升級。
②加強村衛生室建設，村衛生室標準化率達到95%。
（市衛健委負責，各縣（市、區）政府落實）
二、深化醫保支付方式改革
3.推進DRG/DIP支付方式改革。到2023年底，DRG/DIP付費醫療機構覆蓋率達到70%。（市醫保局牽頭，市衛健委配合；2023年底前完成）
4.加強醫保基金監管。常態化開展打擊欺詐騙保專項整治。（市醫保局、市衛健委、市市場監管局按職責分工負責；長期堅持）
"""


def test_traditional_plan_with_label_lines_and_circled_sub_items_under_one_attribution(resolver):
    result = extract_plan(PLAN_WITH_LABEL_LINES, resolver)
    assert paths(result) == [["一", "1"], ["一", "2"], ["二", "3"], ["二", "4"]]
    first, second, third, fourth = result["tasks"]
    assert first["responsible_units"] == ["市发展改革委", "市财政局", "市人力资源和社会保障局"]
    assert first["deadlines"] == [
        {"text": "2023年底前", "date": "2023-12-31"},
        {"text": "2023年12月", "date": "2023-12-31"},
    ]
    assert first["targets"][0]["value"] == 100 and first["targets"][0]["unit"] == "项"
    assert second["lead_units"] == ["市卫生健康委"] and second["counties_involved"] is True
    assert "村卫生室标准化率" in second["text"]
    assert third["deadlines"] == [
        {"text": "到2023年底", "date": "2023-12-31"},
        {"text": "2023年底前", "date": "2023-12-31"},
    ]
    assert fourth["lead_units"] == ["市医疗保障局", "市卫生健康委", "市市场监督管理局"]
    assert fourth["deadlines"] == [{"text": "长期坚持", "date": None}]


# ---------------------------------------------------------------- PDF text layer


def _pdf_with_text(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds ``lines`` (a CID font with a ToUnicode map, as office
    suites export Chinese text; no glyphs are needed to read the text back)."""
    chars = sorted({ch for line in lines for ch in line})
    gid = {ch: i + 1 for i, ch in enumerate(chars)}
    body = ["BT /F1 10 Tf 40 800 Td 12 TL"]
    for line in lines:
        body.append("<" + "".join(f"{gid[ch]:04X}" for ch in line) + "> Tj T*")
    body.append("ET")
    content = "\n".join(body).encode("ascii")
    bfchar = "\n".join(f"<{gid[ch]:04X}> <{ord(ch):04X}>" for ch in chars)
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(chars)} beginbfchar\n{bfchar}\nendbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end"
    ).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity)"
        b" /Supplement 0 >> /DW 1000 >>",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_text_layer_is_read_and_extracted(resolver):
    lines = [
        "XX市2023年医改重点工作任务",
        "一、深化分级诊疗",
        "（一）推进紧密型县域医共体建设。2023年底前县域",
        "内就诊率达到90%以上。（牵头单位：市卫健委；配合",
        "单位：市医保局、市财政局）",
        "（二）做实家庭医生签约服务。（市卫健委负责）",
    ]
    text = read_plan_file(_pdf_with_text(lines), filename="plan.pdf")
    assert "医共体" in text
    result = extract_plan(text, resolver)
    assert paths(result) == [["一", "(一)"], ["一", "(二)"]]
    first = result["tasks"][0]
    assert first["lead_units"] == ["市卫生健康委"]
    assert first["responsible_units"] == ["市医疗保障局", "市财政局"]
    assert [(t["op"], t["value"], t["by"]) for t in first["targets"]] == [(">=", 90, "2023-12-31")]


TWO_TASK_COLUMNS_PLAN = """\
XX市医改领导小组关于印发《XX市2024年医改重点任务》的通知
X医改组〔2024〕1号
各成员单位：
现将《XX市2024年医改重点任务》印发给你们，请于每年6月底和12月底前将任务落实情况书面报送市医改办。
XX市深化医药卫生体制改革领导小组
2024年1月30日
附件1
XX市2024年医改重点任务分工
序号 | 重点任务 | 具体内容 | 责任单位 | 完成时间
一 | 促进医保、医疗、医药协同发展和治理 |  |  | 
1 | 深化医疗服务价格改革 | 开展医疗服务价格调整评估，符合条件的及时调整 | 市医保局（牵头）、市卫健委 | 2024年9月底前
2 | 推进医保支付方式改革 | DRG/DIP付费覆盖率达到100% | 市医保局 | 2024年12月
二 | 深化以公益性为导向的公立医院改革 |  |  | 
3 | 推进公立医院高质量发展 | 三级公立医院平均住院日控制在8天以内，群众投诉30天内办结 | 市卫健委 | 持续推进
"""


def test_table_with_a_task_column_and_a_content_column(resolver):
    result = extract_plan(TWO_TASK_COLUMNS_PLAN, resolver)
    assert result["plan_title"] == "XX市2024年医改重点任务分工"
    assert [(r["month"], r["day"]) for r in result["reporting_dates"]] == [(6, 30), (12, 31)]
    assert paths(result) == [["附件1", "一", "1"], ["附件1", "一", "2"], ["附件1", "二", "3"]]
    first, second, third = result["tasks"]
    assert first["title"] == "深化医疗服务价格改革"
    assert first["lead_units"] == ["市医疗保障局"] and first["responsible_units"] == ["市卫生健康委"]
    assert second["title"] == "推进医保支付方式改革"
    assert [(t["indicator"], t["op"], t["value"], t["by"]) for t in second["targets"]] == [
        ("DRG/DIP付费覆盖率", ">=", 100, "2024-12-31")
    ]
    assert [(t["indicator"], t["op"], t["value"], t["unit"]) for t in third["targets"]] == [
        ("三级公立医院平均住院日", "<=", 8, "天")
    ]
    assert third["deadlines"] == [{"text": "30天内", "date": None}, {"text": "持续推进", "date": None}]
