"""Published plans of the genre (data/corpus, see SOURCES.md there), with facts checked by hand.

The stored pages are the beginnings of the documents: every one carries its header (own 文号 or none, title,
issuer, date, often numbers of other documents cited in prose); the tasks are checked where the page reaches them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.extraction import ExtractionError, extract_plan, read_header

from ._helpers import seed_resolver

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"

# file: (own 文号 or None, issued_on or None, words the title must contain)
HEADERS = {
    "beibei-2024-tixi": ("北碚府办发〔2024〕48号", "2024-06-11", "北碚区进一步完善医疗卫生服务体系实施方案"),
    "binzhou-2024-cuoshi": (
        None,
        None,
        "滨州市人民政府办公室关于印发滨州市进一步完善医疗卫生服务体系若干措施的通知",
    ),
    "foshan-2016-qiangji": (None, None, "佛山市人民政府关于印发佛山市医疗卫生强基创优行动计划"),
    "gansu-2016-renwu": (
        "甘政办发〔2016〕112号",
        "2016-07-22",
        "甘肃省深化医药卫生体制改革2016年重点工作任务",
    ),
    "guobanfa-2022-14": ("国办发〔2022〕14号", None, "深化医药卫生体制改革2022年重点工作任务"),
    "hainanzhou-2024-yigongti": (None, None, "海南州全面推进紧密型县域医疗卫生共同体建设实施方案"),
    "hualong-2015-shidian": (None, "2015-09-07", "化隆县深化医药卫生体制改革综合试点方案"),
    "huzhou-2023-yaodian": ("湖卫健发〔2023〕1号", "2023-04-26", "2023年全市卫生健康工作要点"),
    "jiedu-2023h2-renwu": (None, None, ""),
    "liupanshui-2020-jiankang": (None, None, "健康六盘水行动推进方案"),
    "neimenggu-2015-qixian": ("内政办发〔2015〕103号", "2015-09-30", "旗县级公立医院综合改革实施方案"),
    "ordos-2024-tixi": ("鄂府办发〔2024〕24号", "2024-04-08", "鄂尔多斯市进一步完善医疗卫生服务体系实施方案"),
    "pingdingshan-2017-gongli": ("平政办〔2017〕68号", "2017-07-28", "平顶山市城市公立医院综合改革实施方案"),
    "shaanxi-2017-shisanwu": (None, None, "陕西省“十三五”深化医药卫生体制改革实施方案"),
    "taizhou-2014-anpai": (None, "2014-06-06", "关于印发2014年全市深化医药卫生体制改革主要工作安排的通知"),
    "tianjin-yilianti": (None, None, ""),
}

# file: [(path, title, lead units, responsible units)] for the tasks the stored page reaches
TASKS = {
    "tianjin-yilianti": [
        ("1", "实行医疗联合体网格化管理", ["市卫生计生委"], ["市人力社保局"]),
        ("2", "落实不同医疗机构功能定位", ["市卫生计生委"], []),
        (
            "3",
            "完善配套政策促进医疗联合体健康发展",
            ["市卫生计生委"],
            ["市发展改革委", "市财政局", "市人力社保局"],
        ),
        ("4", "完善价格和医保支付政策引导合理就医", [], []),  # cut off before its attribution
    ],
    "beibei-2024-tixi": [("二.(一).1", "优化医疗资源布局", [], [])],
    # (省卫生计生委、省财政厅负责,省编办…参与。注:排在首位 -- the page stops inside the attribution
    "gansu-2016-renwu": [
        (
            "一.(一)",
            "深化县级公立医院综合改革",
            ["省卫生计生委"],
            ["省财政厅", "省编办", "省发展改革委", "省人社厅", "省中医药局"],
        ),
    ],
    "taizhou-2014-anpai": [("二.(一)", "加快推进公立医院改革", [], [])],
    "liupanshui-2020-jiankang": [("二.(一).1", "推进健康知识普及行动", [], [])],  # 一、行动目标 is not a task
}

# pages that stop before their first task: a clear refusal, never invented tasks
NO_TASKS = {
    "binzhou-2024-cuoshi",
    "guobanfa-2022-14",
    "hainanzhou-2024-yigongti",
    "jiedu-2023h2-renwu",
    "neimenggu-2015-qixian",
    "ordos-2024-tixi",
    "pingdingshan-2017-gongli",
    "shaanxi-2017-shisanwu",
    "foshan-2016-qiangji",
}


def _text(name: str) -> str:
    return (CORPUS / f"{name}.txt").read_text(encoding="utf-8")


def test_the_corpus_has_every_file_it_lists():
    assert sorted(p.stem for p in CORPUS.glob("*.txt")) == sorted(HEADERS)
    assert len(HEADERS) >= 10


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_corpus_header_own_number_date_and_title(name):
    doc_number, issued_on, title_words = HEADERS[name]
    header = read_header(_text(name))
    assert header["doc_number"] == doc_number
    assert header["issued_on"] == issued_on
    titles = (header["title"] or "") + " " + (header["plan_title"] or "")
    assert title_words in titles


@pytest.mark.parametrize("name", sorted(TASKS))
def test_corpus_tasks_paths_titles_and_units(name):
    result = extract_plan(_text(name), seed_resolver())
    got = [
        (".".join(t["path"]), t["title"], t["lead_units"], t["responsible_units"]) for t in result["tasks"]
    ]
    assert got == TASKS[name]
    assert result["doc_number"] == HEADERS[name][0]


@pytest.mark.parametrize("name", sorted(NO_TASKS))
def test_corpus_pages_without_tasks_are_refused_in_chinese(name):
    with pytest.raises(ExtractionError) as exc:
        extract_plan(_text(name), seed_resolver())
    assert "任务" in exc.value.message


@pytest.mark.parametrize(
    ("name", "issuer"),
    [
        ("taizhou-2014-anpai", "泰州市人民政府办公室"),  # the title says only 市政府办公室
        ("ordos-2024-tixi", "鄂尔多斯市人民政府办公室"),
        ("beibei-2024-tixi", "重庆市北碚区人民政府办公室"),
        ("gansu-2016-renwu", "甘肃省人民政府办公厅"),
    ],
)
def test_corpus_issuer_is_the_signing_office(name, issuer):
    assert read_header(_text(name))["issuer"] == issuer


def test_corpus_first_unit_leads_rule_carries_over_to_later_items():
    # (市卫生计生委、市人力社保局负责,排在第一位的为牵头部门,下同): 下同 applies to every later item
    tasks = extract_plan(_text("tianjin-yilianti"), seed_resolver())["tasks"]
    assert tasks[2]["lead_units"] == ["市卫生计生委"]
    assert tasks[2]["lead_rule"] == "first_leads"
