"""Small hand-written plans, one per way of writing who is responsible, when, and how much."""

from __future__ import annotations

import pytest

from tasks.extraction import ExtractionError, UnitResolver, extract_plan

ALIASES = {
    "市卫健委": "市卫生健康委",
    "卫生健康委": "市卫生健康委",
    "市卫生健康委员会": "市卫生健康委",
    "市医保局": "市医疗保障局",
    "医疗保障局": "市医疗保障局",
    "市财政局": "市财政局",
    "财政局": "市财政局",
    "市人社局": "市人力资源和社会保障局",
    "市发改委": "市发展改革委",
    "市教育局": "市教育局",
    "市民政局": "市民政局",
}


@pytest.fixture
def resolver():
    return UnitResolver(ALIASES, canonical_names=["市委编办", "市司法局"])


def plan(*items: str, header: str = "XX市深化医改2021年重点工作任务\n") -> str:
    return header + "一、推进分级诊疗\n" + "\n".join(items) + "\n"


def only_task(text: str, resolver) -> dict:
    result = extract_plan(text, resolver)
    assert len(result["tasks"]) == 1, [t["path"] for t in result["tasks"]]
    return result["tasks"][0]


def test_labels_without_colons(resolver):
    task = only_task(
        plan(
            "(一)建设医联体。2021年底前全面推开。(牵头单位市卫健委责任单位市医保局、市财政局,各县〔市、区〕政府)"
        ),
        resolver,
    )
    assert task["path"] == ["一", "(一)"]
    assert task["lead_units"] == ["市卫生健康委"]
    assert task["responsible_units"] == ["市医疗保障局", "市财政局"]
    assert task["counties_involved"] is True


def test_labels_with_full_width_colons_and_semicolons(resolver):
    task = only_task(
        plan(
            "（一）建设医联体。（牵头单位：市卫健委；责任单位：市医保局、市财政局；各县（市、区）人民政府）"
        ),
        resolver,
    )
    assert task["lead_units"] == ["市卫生健康委"]
    assert task["responsible_units"] == ["市医疗保障局", "市财政局"]
    assert task["counties_involved"] is True


def test_only_responsible_label_first_unit_leads_and_later_names_take_its_prefix(resolver):
    task = only_task(
        plan("（一）推进医保支付方式改革。（责任单位：市医疗保障局、卫生健康委、财政局、司法局）"), resolver
    )
    assert task["lead_units"] == ["市医疗保障局"]
    assert task["responsible_units"] == ["市卫生健康委", "市财政局", "市司法局"]
    assert task["unknown_units"] == []


def test_first_listed_unit_leads_when_the_plan_says_so(resolver):
    text = plan(
        "(一)完善分级诊疗。(市卫健委、市委编办负责,排在第一位的为牵头部门,下同)",
        "(二)推进医保改革。(市医保局、市财政局负责)",
    )
    tasks = extract_plan(text, resolver)["tasks"]
    assert [t["lead_units"] for t in tasks] == [["市卫生健康委"], ["市医疗保障局"]]
    assert [t["responsible_units"] for t in tasks] == [["市委编办"], ["市财政局"]]
    assert not any(t["counties_involved"] for t in tasks)


def test_each_listed_unit_leads_with_fenbie_fuze(resolver):
    task = only_task(
        plan("(一)加强重点人群健康促进。(市卫健委、市民政局、市教育局等分别负责,市财政局参与)"), resolver
    )
    assert task["lead_units"] == ["市卫生健康委", "市民政局", "市教育局"]
    assert task["responsible_units"] == ["市财政局"]


def test_lead_and_participating_units(resolver):
    for verb in ("参与", "配合"):
        task = only_task(plan(f"(一)推进家庭医生签约。(市卫健委牵头,市医保局、市财政局{verb})"), resolver)
        assert task["lead_units"] == ["市卫生健康委"]
        assert task["responsible_units"] == ["市医疗保障局", "市财政局"]


def test_county_governments_alone_are_not_units(resolver):
    for county in ("各县(市、区)政府负责", "各县〔市、区〕党委、政府负责", "各县（市、区）人民政府负责"):
        task = only_task(plan(f"(一)落实乡村医生补助。({county})"), resolver)
        assert task["lead_units"] == [] and task["responsible_units"] == []
        assert task["counties_involved"] is True


def test_unknown_unit_is_kept_as_written_and_listed_for_a_person(resolver):
    task = only_task(plan("(一)建设健康信息平台。(牵头单位:市数字化发展中心;责任单位:市卫健委)"), resolver)
    assert task["lead_units"] == ["市数字化发展中心"]
    assert task["responsible_units"] == ["市卫生健康委"]
    assert task["unknown_units"] == ["市数字化发展中心"]


def test_labels_on_their_own_lines_after_the_item(resolver):
    text = plan(
        "(一)推进紧密型医共体建设",
        "整合县域医疗资源,提升服务能力。",
        "牵头单位：市卫健委",
        "责任单位：市医保局、市财政局",
        "完成时限：2021年6月底前",
    )
    task = only_task(text, resolver)
    assert task["title"] == "推进紧密型医共体建设"
    assert task["lead_units"] == ["市卫生健康委"]
    assert task["responsible_units"] == ["市医疗保障局", "市财政局"]
    assert {"text": "2021年6月底前", "date": "2021-06-30"} in task["deadlines"]


def test_huitong_means_lead_with_partner(resolver):
    task = only_task(plan("(一)完善药品价格监测。(市医保局会同市财政局负责)"), resolver)
    assert task["lead_units"] == ["市医疗保障局"]
    assert task["responsible_units"] == ["市财政局"]


def test_without_resolver_names_are_returned_as_written():
    task = only_task(plan("(一)建设医联体。(牵头单位:市卫健委;责任单位:市医保局)"), None)
    assert task["lead_units"] == ["市卫健委"]
    assert task["responsible_units"] == ["市医保局"]


def test_nested_numbering_gives_full_paths(resolver):
    text = (
        "XX市医改实施方案\n一、主要任务\n（一）医疗服务\n1．推进医联体建设。（牵头单位：市卫健委）\n"
        "（1）城市医疗集团试点。（牵头单位：市卫健委；责任单位：市医保局）\n（2）县域医共体。（市卫健委负责）\n"
        "2、完善分级诊疗。（市卫健委负责）\n二、保障措施\n（一）加强组织领导。（市卫健委负责）\n"
    )
    paths = [t["path"] for t in extract_plan(text, resolver)["tasks"]]
    assert paths == [
        ["一", "(一)", "1"],
        ["一", "(一)", "1", "(1)"],
        ["一", "(一)", "1", "(2)"],
        ["一", "(一)", "2"],
        ["二", "(一)"],
    ]


# ---------------------------------------------------------------- deadlines


@pytest.mark.parametrize(
    ("written", "expected_text", "expected_date"),
    [
        ("2021年全面推开", "2021年", "2021-12-31"),
        ("2022年底前全面推开", "2022年底前", "2022-12-31"),
        ("到2022年底全面推开", "到2022年底", "2022-12-31"),
        ("2021年9月底前全面推开", "2021年9月底前", "2021-09-30"),
        ("9月底前全面推开", "9月底前", "2021-09-30"),
        ("上半年全面推开", "上半年", "2021-06-30"),
        ("下半年全面推开", "下半年", "2021-12-31"),
        ("年内全面推开", "年内", "2021-12-31"),
        ("2021年6月全面推开", "2021年6月", "2021-06-30"),
        ("2021年第三季度全面推开", "2021年第三季度", "2021-09-30"),
        ("合同签订后15个工作日内完成结算", "15个工作日内", None),
    ],
)
def test_deadline_is_normalised(resolver, written, expected_text, expected_date):
    task = only_task(plan(f"(一)推进试点。{written}。(市卫健委负责)"), resolver)
    assert task["deadlines"] == [{"text": expected_text, "date": expected_date}]


def test_years_before_the_plan_year_are_background(resolver):
    task = only_task(plan("(一)推进试点。在2020年试点基础上,2021年全面推开。(市卫健委负责)"), resolver)
    assert task["deadlines"] == [{"text": "2021年", "date": "2021-12-31"}]


def test_background_years_and_cited_documents_are_not_deadlines(resolver):
    text = plan(
        "(一)推进试点。2019年以来,我市按照《健康中国行动(2019—2030年)》要求开展试点,2022年底前全面推开。(市卫健委负责)"
    )
    task = only_task(text, resolver)
    assert task["deadlines"] == [{"text": "2022年底前", "date": "2022-12-31"}]


# ---------------------------------------------------------------- targets


@pytest.mark.parametrize(
    ("written", "indicator", "op", "value", "unit"),
    [
        ("县域就诊率提高到90%以上", "县域就诊率", ">=", 90, "%"),
        ("基层诊疗量占比不低于65%", "基层诊疗量占比", ">=", 65, "%"),
        ("家庭医生签约率达到75%以上", "家庭医生签约率", ">=", 75, "%"),
        ("个人卫生支出占比不超过28%", "个人卫生支出占比", "<=", 28, "%"),
        ("药占比控制在30%以内", "药占比", "<=", 30, "%"),
        ("急救平均反应时间控制在12分钟以内", "急救平均反应时间", "<=", 12, "分钟"),
        ("人均财政补助标准增加30元", "人均财政补助标准", "+=", 30, "元"),
    ],
)
def test_target_comparison_words(resolver, written, indicator, op, value, unit):
    task = only_task(plan(f"(一)推进改革。2022年{written}。(市卫健委负责)"), resolver)
    assert len(task["targets"]) == 1
    target = task["targets"][0]
    assert (target["indicator"], target["op"], target["value"], target["unit"], target["by"]) == (
        indicator,
        op,
        value,
        unit,
        "2022-12-31",
    )


def test_target_range_and_count(resolver):
    task = only_task(
        plan("(一)建设样板医院。2021年打造2-4个样板医院,新建15个“示范站”。(市卫健委负责)"), resolver
    )
    assert [(t["op"], t["value"], t["unit"], t["by"]) for t in task["targets"]] == [
        ("between", [2, 4], "个", "2021-12-31"),
        ("=", 15, "个", "2021-12-31"),
    ]


def test_target_per_population(resolver):
    task = only_task(
        plan("(一)加强全科医生队伍建设。到2030年,每万名居民拥有2名以上全科医生。(市卫健委负责)"), resolver
    )
    assert task["targets"] == [
        {
            "text": "每万名居民拥有2名以上全科医生",
            "indicator": "每万名居民全科医生数",
            "op": ">=",
            "value": 2,
            "unit": "名",
            "by": "2030-12-31",
        }
    ]


def test_labels_and_durations_are_not_targets(resolver):
    text = plan(
        "(一)落实“两个允许”。落实“三区两通道”要求,接到通知后5个工作日内上报,在国家第一批集中采购的25种药品基础上扩面。(市卫健委负责)"
    )
    task = only_task(text, resolver)
    assert task["targets"] == []
    assert task["deadlines"] == [{"text": "5个工作日内", "date": None}]


# ---------------------------------------------------------------- documents that are not plans


def test_text_without_numbered_tasks_raises_a_chinese_error(resolver):
    novel = "那是一个晴朗的早晨，他沿着河岸慢慢走着，想起了许多年前的事情。河水静静地流淌，远处传来几声鸟鸣。"
    with pytest.raises(ExtractionError) as info:
        extract_plan(novel, resolver)
    assert "未在文本中找到编号任务" in str(info.value)


@pytest.mark.parametrize(
    "bad", ["", "   \n\n", "\x00\x01\x02binary\xff", "1. 2. 3.", "<html><body></body></html>"]
)
def test_empty_or_garbage_text_raises_extraction_error_only(resolver, bad):
    with pytest.raises(ExtractionError):
        extract_plan(bad, resolver)


def test_lead_marked_after_its_name(resolver):
    task = only_task(plan("(一)推进医联体建设。(责任单位:市医保局、市卫健委(牵头)、市财政局)"), resolver)
    assert task["lead_units"] == ["市卫生健康委"]
    assert task["responsible_units"] == ["市医疗保障局", "市财政局"]


def test_units_working_by_remit_after_an_explicit_lead_are_responsible(resolver):
    task = only_task(plan("(一)推进医联体建设。(市卫健委牵头,市医保局、市财政局等按职责分工负责)"), resolver)
    assert task["lead_units"] == ["市卫生健康委"]
    assert task["responsible_units"] == ["市医疗保障局", "市财政局"]


def test_sub_items_closed_by_one_attribution_make_one_task(resolver):
    text = plan(
        "(一)推进医联体建设。(市卫健委负责)",
        "(二)完善医保支付。具体包括:",
        "1.推行按病种付费;",
        "2.探索按人头付费。(牵头单位:市医保局;责任单位:市卫健委)",
    )
    tasks = extract_plan(text, resolver)["tasks"]
    assert [t["path"] for t in tasks] == [["一", "(一)"], ["一", "(二)"]]
    assert tasks[1]["lead_units"] == ["市医疗保障局"]
    assert "按病种付费" in tasks[1]["text"] and "按人头付费" in tasks[1]["text"]
