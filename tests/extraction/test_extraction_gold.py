"""Both seed plans, field by field against their hand-checked gold files."""

import pytest

from tasks.extraction import extract_plan

from ._helpers import SEED_NAMES, compare_with_gold, seed_gold, seed_resolver, seed_text


@pytest.fixture(scope="module", params=SEED_NAMES)
def seed(request):
    name = request.param
    return extract_plan(seed_text(name), seed_resolver()), seed_gold(name)


def test_seed_plan_header_matches_gold(seed):
    result, gold = seed
    for key in ("doc_number", "title", "issuer", "issued_on"):
        assert result[key] == gold[key], key


def test_seed_plan_reporting_dates_match_gold(seed):
    result, gold = seed
    got = [(r["text"], r["month"], r["day"], r["date"]) for r in result["reporting_dates"]]
    want = [(r["text"], r["month"], r["day"], r["date"]) for r in gold["reporting_dates"]]
    assert got == want


def test_seed_plan_finds_exactly_the_gold_tasks_in_order(seed):
    result, gold = seed
    assert [t["path"] for t in result["tasks"]] == [t["path"] for t in gold["tasks"]]


def test_seed_plan_every_task_field_matches_gold(seed):
    result, gold = seed
    assert compare_with_gold(result, gold) == []


def test_seed_plan_targets_carry_the_gold_indicator_words(seed):
    result, gold = seed
    got = [t["indicator"] for task in result["tasks"] for t in task["targets"]]
    want = [t["indicator"] for task in gold["tasks"] for t in task["targets"]]
    assert len(got) == len(want)
    # most indicators should be word-for-word; the rest are checked as close in the test above
    exact = sum(
        1
        for a, b in zip(got, want, strict=False)
        if a.replace("“", "").replace("”", "") == b.replace("“", "").replace("”", "")
    )
    assert exact >= len(want) * 0.6


def test_seed_plan_units_are_canonical_names_known_to_the_resolver(seed):
    result, _ = seed
    resolver = seed_resolver()
    for task in result["tasks"]:
        for name in task["lead_units"] + task["responsible_units"]:
            assert name in resolver.canonical_names
