"""Shared helpers for the extraction tests: where the seeds are, and a field-by-field gold comparison."""

from __future__ import annotations

import difflib
import json
import os
import re
from functools import lru_cache
from pathlib import Path

from tasks.extraction import UnitResolver

SEED_NAMES = ("pingdingshan-2020-plan", "shijiazhuang-2020h2-tasks")


def seeds_dir() -> Path:
    """The seeds in ../shared/seeds when that folder is there (a developer's checkout), else the copies the
    project ships in fixtures/ (a clean CI checkout): plans in fixtures/plans, unit_aliases.json beside them."""
    override = os.environ.get("REFORM_SEEDS_DIR")
    if override:
        return Path(override)
    repo = Path(__file__).resolve().parents[2]
    shared = repo.parent / "shared" / "seeds"
    return shared if (shared / "unit_aliases.json").exists() else repo / "fixtures" / "plans"


def _seed_file(name: str) -> Path:
    path = seeds_dir() / name
    if not path.exists() and name == "unit_aliases.json":
        path = seeds_dir().parent / name  # fixtures/unit_aliases.json sits beside fixtures/plans
    return path


@lru_cache
def seed_text(name: str) -> str:
    return _seed_file(f"{name}.txt").read_text(encoding="utf-8")


@lru_cache
def seed_gold(name: str) -> dict:
    return json.loads(_seed_file(f"{name}.gold.json").read_text(encoding="utf-8"))


@lru_cache
def seed_resolver() -> UnitResolver:
    aliases = json.loads(_seed_file("unit_aliases.json").read_text(encoding="utf-8"))
    return UnitResolver(aliases)


def _plain(text: str) -> str:
    return re.sub(r"[\s“”\"'()]", "", text)


def indicator_close(got: str, want: str) -> bool:
    """Indicator names are free text: the same words, allowing a qualifier more or less."""
    a, b = _plain(got), _plain(want)
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.5


def compare_with_gold(result: dict, gold: dict, *, check_text: bool = True) -> list[str]:
    """Every difference between an extraction and a gold file, as readable lines (empty: all match)."""
    problems: list[str] = []
    got = {tuple(t["path"]): t for t in result["tasks"]}
    want = {tuple(t["path"]): t for t in gold["tasks"]}
    for path in got.keys() - want.keys():
        problems.append(f"extra task {path} {got[path]['title']}")
    for path, g in want.items():
        t = got.get(path)
        if t is None:
            problems.append(f"missing task {path} {g['title']}")
            continue
        if t["title"] != g["title"]:
            problems.append(f"{path} title {t['title']!r} != {g['title']!r}")
        if t["lead_units"] != g["lead_units_normalized"]:
            problems.append(f"{path} lead {t['lead_units']} != {g['lead_units_normalized']}")
        if t["responsible_units"] != g["responsible_units_normalized"]:
            problems.append(
                f"{path} responsible {t['responsible_units']} != {g['responsible_units_normalized']}"
            )
        if t["counties_involved"] != g["counties_involved"]:
            problems.append(f"{path} counties_involved {t['counties_involved']}")
        if t["unknown_units"]:
            problems.append(f"{path} unknown units {t['unknown_units']}")
        got_d = [(d["text"], d["date"]) for d in t["deadlines"]]
        want_d = [(d["text"], d["date"]) for d in g["deadlines"]]
        if got_d != want_d:
            problems.append(f"{path} deadlines {got_d} != {want_d}")
        got_t = [(x["op"], x["value"], x["unit"], x["by"]) for x in t["targets"]]
        want_t = [(x["op"], x["value"], x["unit"], x["by"]) for x in g["targets"]]
        if got_t != want_t:
            problems.append(f"{path} targets {got_t} != {want_t}")
        else:
            for x, y in zip(t["targets"], g["targets"], strict=False):
                if not indicator_close(x["indicator"], y["indicator"]):
                    problems.append(f"{path} indicator {x['indicator']!r} vs {y['indicator']!r}")
        if check_text and re.sub(r"\s", "", t["text"]) != re.sub(r"\s", "", g["text"]):
            problems.append(f"{path} text differs: {t['text'][-50:]!r} vs {g['text'][-50:]!r}")
    return problems
