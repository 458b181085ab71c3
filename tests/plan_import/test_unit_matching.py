"""Ranking known units for a name nobody knows: only the same name written another way is a strong match."""

import pytest

from departments.selectors import unit_match_candidates
from tests.factories import UnitFactory

pytestmark = pytest.mark.django_db

NAMES = [
    "市人力资源和社会保障局",
    "市卫生健康委",
    "市发展改革委",
    "市医疗保障局",
    "市财政局",
    "市公立医院管理委员会",
    "市市场监督管理局",
    "市教育局",
]


@pytest.fixture
def units():
    return {name: UnitFactory(name=name) for name in NAMES}


def _best(name):
    found = unit_match_candidates(name=name)
    return (found[0]["unit"].name, found[0]["strong"]) if found else (None, False)


@pytest.mark.parametrize(
    ("written", "unit"),
    [
        ("市人力社保局", "市人力资源和社会保障局"),
        ("市卫健委", "市卫生健康委"),
        ("市发改委", "市发展改革委"),
        ("市医保局", "市医疗保障局"),
        ("市卫生健康委员会", "市卫生健康委"),
        ("卫生健康委", "市卫生健康委"),
        ("市场监管局", "市市场监督管理局"),
    ],
)
def test_the_same_unit_written_another_way_is_a_strong_match(units, written, unit):
    assert _best(written) == (unit, True)


@pytest.mark.parametrize(
    "written", ["市公安局", "市卫生局", "市住房和城乡建设局", "市民政局", "市卫生计生委"]
)
def test_another_body_is_never_a_strong_match(units, written):
    for candidate in unit_match_candidates(name=written):
        assert candidate["strong"] is False, (written, candidate["unit"].name)


def test_two_units_fitting_equally_leave_the_choice_to_the_person(units):
    UnitFactory(name="市医疗器械局")  # 医局 abbreviates both 医疗保障局 and 医疗器械局
    assert all(not c["strong"] for c in unit_match_candidates(name="市医局"))


def test_suggestions_are_ranked_best_first(units):
    scores = [c["score"] for c in unit_match_candidates(name="市卫健委")]
    assert scores == sorted(scores, reverse=True)
