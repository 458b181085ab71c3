"""The one reading of deadline phrases (tasks/deadlines.py), phrase by phrase, as offices and plans write them."""

import datetime as dt

import pytest

from tasks.deadlines import parse_deadlines, year_of_plan

TODAY = dt.date(2021, 1, 15)

# (cell as written, the plan's year or None, [(date or None, recurring, has a warning)])
PHRASES = [
    # ranges: the end
    ("2021年6-9月", None, [("2021-09-30", False, False)]),
    ("6-9月", 2021, [("2021-09-30", False, False)]),
    ("2021年至2025年", None, [("2025-12-31", False, False)]),
    ("2021—2025年", None, [("2025-12-31", False, False)]),
    ("2021-2022年", None, [("2022-12-31", False, False)]),
    ("2021年6月至2022年3月", None, [("2022-03-31", False, False)]),
    ("2021年6、7月", None, [("2021-07-31", False, False)]),
    ("2025年至2021年", None, [(None, False, True)]),
    # several in one cell
    (
        "2022年6月底前完成试点，2022年底前全面推开",
        None,
        [("2022-06-30", False, False), ("2022-12-31", False, False)],
    ),
    ("2021年6月底前、12月底前", None, [("2021-06-30", False, False), ("2021-12-31", False, False)]),
    ("2021年底；2022年底", None, [("2021-12-31", False, False), ("2022-12-31", False, False)]),
    ("2021年启动\n2023年全面完成", None, [(None, False, True), ("2023-12-31", False, False)]),
    # without a year: the plan's year, else a warning
    ("6月底前", 2021, [("2021-06-30", False, False)]),
    ("6月底前", None, [(None, False, True)]),
    ("年底前", 2022, [("2022-12-31", False, False)]),
    ("年底前", None, [(None, False, True)]),
    ("三季度末", 2021, [("2021-09-30", False, False)]),
    ("第四季度", 2021, [("2021-12-31", False, False)]),
    ("前三季度", 2021, [("2021-09-30", False, False)]),
    ("明年6月底前", 2021, [("2022-06-30", False, False)]),
    ("年内", 2023, [("2023-12-31", False, False)]),
    # festivals from the official calendar
    ("2021年春节前", None, [("2021-02-10", False, False)]),
    ("国庆节前", 2021, [("2021-09-30", False, False)]),
    ("2021年元旦前", None, [("2020-12-31", False, False)]),
    ("2022年端午节前", None, [("2022-06-02", False, False)]),
    ("春节前", None, [(None, False, True)]),
    ("2040年春节前", None, [(None, False, True)]),
    ("2021年春节后", None, [(None, False, True)]),
    # halves, quarters, 旬
    ("2021年上半年", None, [("2021-06-30", False, False)]),
    ("下半年", 2021, [("2021-12-31", False, False)]),
    ("2021年年中", None, [("2021-06-30", False, False)]),
    ("2021年第三季度", None, [("2021-09-30", False, False)]),
    ("2021年第二、三季度", None, [("2021-09-30", False, False)]),
    ("2021年6月上旬", None, [("2021-06-10", False, False)]),
    ("2021年6月中旬", None, [("2021-06-20", False, False)]),
    ("2021年6月下旬", None, [("2021-06-30", False, False)]),
    ("2021年6月初", None, [("2021-06-10", False, True)]),
    # written dates
    ("20210630", None, [("2021-06-30", False, False)]),
    ("2021.6.30", None, [("2021-06-30", False, False)]),
    ("2021年6月30号", None, [("2021-06-30", False, False)]),
    ("2021年6月30日前", None, [("2021-06-30", False, False)]),
    ("2022-06-30", None, [("2022-06-30", False, False)]),
    ("2022/6/30", None, [("2022-06-30", False, False)]),
    ("2020.12", None, [("2020-12-31", False, False)]),
    ("2022年12月", None, [("2022-12-31", False, False)]),
    ("2022年底", None, [("2022-12-31", False, False)]),
    ("到2025年", None, [("2025-12-31", False, False)]),
    ("2023", None, [("2023-12-31", False, False)]),
    ("二〇二一年十二月底", None, [("2021-12-31", False, False)]),
    ("２０２１年６月底前", None, [("2021-06-30", False, False)]),
    ("2021年2月30日", None, [(None, False, True)]),
    ("2021年13月", None, [(None, False, True)]),
    # recurring: the next date, recorded as recurring
    ("每季度末", None, [("2021-03-31", True, False)]),
    ("每月28日前", None, [("2021-01-28", True, False)]),
    ("每季度结束后10个工作日内", None, [("2021-04-15", True, False)]),
    ("每年12月底前", None, [("2021-12-31", True, False)]),
    ("每半年", None, [("2021-06-30", True, False)]),
    ("每月报送一次", None, [("2021-01-31", True, False)]),
    ("每季度第二个月", None, [("2021-03-31", True, True)]),
    # long-term: no date, no warning
    ("长期坚持", None, [(None, False, False)]),
    ("持续推进", None, [(None, False, False)]),
    ("长期", None, [(None, False, False)]),
    ("常态化推进", None, [(None, False, False)]),
    # a second clause opening with a conjunction
    ("2026年6月底前完成，并长期坚持", None, [("2026-06-30", False, False), (None, False, False)]),
    ("2026年6月底前完成试点，同时持续推进", None, [("2026-06-30", False, False), (None, False, False)]),
    # met in the corpus (tests/excel/corpus)
    ("2022年10月底前", None, [("2022-10-31", False, False)]),
    (
        "方舱医院升级改造亚定点医院，发热门诊应设尽设、应开尽开，1月底前完成；其它事项12月底前取得明显成效并长期坚持",
        2023,
        [("2023-01-31", False, False), ("2023-12-31", False, False)],
    ),
    ("到2021年", None, [("2021-12-31", False, False)]),
    ("2020年；2022年", None, [("2020-12-31", False, False), ("2022-12-31", False, False)]),
    ("2021年9月底前", None, [("2021-09-30", False, False)]),
    ("2023年6月底前", None, [("2023-06-30", False, False)]),
    # not understood: a warning, never a guess
    ("立即", None, [(None, False, True)]),
    ("15个工作日内", None, [(None, False, True)]),
    ("2023年起", None, [(None, False, True)]),
    ("2022年初", None, [(None, False, True)]),
    ("尽快", None, [(None, False, True)]),
]


@pytest.mark.parametrize(("written", "year", "expected"), PHRASES, ids=[p[0] for p in PHRASES])
def test_deadline_phrase_reads_as_expected(written, year, expected):
    got = [
        (d.date.isoformat() if d.date else None, d.recurring, d.warning is not None)
        for d in parse_deadlines(written, year=year, today=TODAY)
    ]
    assert got == expected


def test_every_phrase_keeps_its_own_words():
    parsed = parse_deadlines("2022年6月底前完成试点，2022年底前全面推开", today=TODAY)
    assert [d.text for d in parsed] == ["2022年6月底前完成试点", "2022年底前全面推开"]


def test_recurring_phrase_lists_its_next_dates():
    (quarterly,) = parse_deadlines("每季度末", today=TODAY)
    assert [d.isoformat() for d in quarterly.dates] == [
        "2021-03-31",
        "2021-06-30",
        "2021-09-30",
        "2021-12-31",
    ]


def test_excel_date_number_and_date_values_are_dates():
    assert parse_deadlines(44926)[0].date == dt.date(2022, 12, 31)
    assert parse_deadlines(dt.datetime(2022, 6, 30, 0, 0))[0].date == dt.date(2022, 6, 30)
    assert parse_deadlines(2023)[0].date == dt.date(2023, 12, 31)


def test_json_shape_of_a_deadline():
    assert parse_deadlines("6月底前", today=TODAY)[0].as_dict() == {
        "text": "6月底前",
        "date": None,
        "recurring": False,
        "warning": "没有写年份，文件标题和文号中也找不到年份：请写明年份（如 2022年6月底前）",
    }


@pytest.mark.parametrize(
    ("texts", "year"),
    [
        (("平医改办〔2021〕3号", "关于印发2022年工作要点的通知"), 2021),
        ((None, "2022年全市深化医药卫生体制改革重点工作任务"), 2022),
        ((None, "深化医改近期重点工作任务分工"), None),
        (("", "2021—2022年医改工作安排"), 2021),
    ],
)
def test_plan_year_comes_from_the_doc_number_then_the_title(texts, year):
    assert year_of_plan(*texts) == year
