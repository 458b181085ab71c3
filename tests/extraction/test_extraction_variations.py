"""The seed plans rewritten the ways real plans differ; the ledger must not change.

Each variation is generated here from the seed text, so the engine never sees a fixed file
it could have been tuned to.
"""

from __future__ import annotations

import random
import re

import pytest
from opencc import OpenCC

from tasks.extraction import extract_plan

from ._helpers import SEED_NAMES, compare_with_gold, seed_gold, seed_resolver, seed_text

_ATTRIBUTION_RE = re.compile(
    r"\((牵头单位|市卫健委|市医保局|市市场监管局|市人社局|市发改委)[^()]*?(?:\([^()]*\)[^()]*?)*(?:\)|$)",
    re.M,
)


def to_traditional(text: str) -> str:
    return OpenCC("s2t").convert(text)


def to_full_width(text: str) -> str:
    return text.translate(str.maketrans({"(": "（", ")": "）", ",": "，", ":": "：", ";": "；", "%": "％"}))


def colon_labels(text: str) -> str:
    """(牵头单位X责任单位Y,各县…) -> (牵头单位：X；责任单位：Y；各县…);
    (X、Y负责) -> (牵头单位：X；责任单位：Y); (X、Y分别负责) -> (牵头单位：X、Y)."""
    text = re.sub(r"\(牵头单位(?=\S)", "(牵头单位：", text)
    text = re.sub(r"责任单位(?=[市各])", "；责任单位：", text)

    def fix(m: re.Match) -> str:
        names, verb = m.group(1).split("、"), m.group(2)
        if verb == "分别负责" or len(names) == 1:
            return f"(牵头单位：{'、'.join(names)}"
        return f"(牵头单位：{names[0]}；责任单位：{'、'.join(names[1:])}"

    return re.sub(r"\(((?:市|石家庄)[^()负,]*?)(分别负责|负责)(?=[,)])", fix, text)


def wrap_lines(text: str, width: int = 29) -> str:
    """Hard line breaks every ``width`` characters, as a PDF text layer gives them."""
    out = []
    for line in text.split("\n"):
        line = line.strip()
        while len(line) > width:
            out.append(line[:width])
            line = line[width:]
        out.append(line)
    return "\n".join(out)


def break_inside_words(text: str, seed: int = 7) -> str:
    """Line breaks at random places inside the body of long paragraphs (after their first sentence)."""
    rng = random.Random(seed)
    out = []
    for line in text.split("\n"):
        first_stop = line.find("。")
        if len(line) > 80 and first_stop != -1 and len(line) - first_stop > 10:
            cut_points = sorted(rng.sample(range(first_stop + 2, len(line) - 1), k=3))
            pieces, last = [], 0
            for cut in cut_points:
                if line[cut - 1] in "。;)" or line[cut] in "(":
                    continue
                pieces.append(line[last:cut])
                last = cut
            pieces.append(line[last:])
            out.extend(pieces)
        else:
            out.append(line)
    return "\n".join(out)


def wrap_html(text: str) -> str:
    body = "\n".join(
        f'<p style="text-indent:2em">{line.strip().replace(" ", "&nbsp;")}</p>' if line.strip() else "<br/>"
        for line in text.split("\n")
    )
    return (
        '<html><head><title>x</title><script>var a = "1.不是任务(市卫健委负责)";</script></head><body>'
        '<div class="nav"><a href="/">首页</a> &gt; <a href="/zwgk">政府信息公开</a></div>\n'
        f'{body}\n<div class="footer">网站地图|联系我们|&copy; 2020</div></body></html>'
    )


def drop_city_prefix_after_first(text: str) -> str:
    """(牵头单位市卫生健康委责任单位市财政局、市医疗保障局) -> …责任单位财政局、医疗保障局"""

    def fix(m: re.Match) -> str:
        inner = m.group(0)
        first = re.search(r"市", inner)
        if not first:
            return inner
        head, tail = inner[: first.end()], inner[first.end() :]
        return head + re.sub(r"(?<=[、位,])市(?!场)", "", tail)

    return _ATTRIBUTION_RE.sub(fix, text)


def to_fuze_list(text: str) -> str:
    """(牵头单位X责任单位Y、Z,各县…) -> (X、Y、Z负责,排在第一位的为牵头部门,各县…); two leads -> X1、X2牵头,Y参与."""

    def fix(m: re.Match) -> str:
        lead, resp, rest = m.group(1), m.group(2) or "", m.group(3) or ""
        tail = f",{rest}" if rest else ""
        if "、" in lead:
            return f"({lead}牵头,{resp}参与{tail}" if resp else f"({lead}牵头{tail}"
        return f"({lead}、{resp}负责,排在第一位的为牵头部门{tail}" if resp else f"({lead}负责{tail}"

    return re.sub(r"\(牵头单位(.+?)责任单位((?:[^,()〔]|〔[^〕]*〕)*?)?(?:,([^()]*?))?(?=\)|\n)", fix, text)


def to_lead_participate(text: str) -> str:
    """(市卫健委、市发改委负责) -> (市卫健委牵头,市发改委配合); 分别负责 lists stay as they are."""

    def fix(m: re.Match) -> str:
        names = m.group(1).split("、")
        if len(names) == 1:
            return f"({names[0]}牵头负责"
        return f"({names[0]}牵头,{'、'.join(names[1:])}配合"

    return re.sub(r"\(((?:市|石家庄)[^()分,]*?)(?<!分别)负责(?=[,)])", fix, text)


VARIATIONS = {
    "traditional": to_traditional,
    "full_width": to_full_width,
    "colon_labels": colon_labels,
    "colon_labels_full_width": lambda t: to_full_width(colon_labels(t)),
    "pdf_wrapped": wrap_lines,
    "breaks_inside_words": break_inside_words,
    "html": wrap_html,
    "city_prefix_dropped": drop_city_prefix_after_first,
    "traditional_html_full_width": lambda t: wrap_html(to_full_width(to_traditional(t))),
}


@pytest.mark.parametrize("variation", sorted(VARIATIONS))
@pytest.mark.parametrize("name", SEED_NAMES)
def test_variation_of_seed_plan_gives_the_gold_ledger(name, variation):
    text = VARIATIONS[variation](seed_text(name))
    assert text != seed_text(name), "the variation must change the text"
    result = extract_plan(text, seed_resolver())
    content_changed = variation.startswith(("colon_labels", "city_prefix"))
    assert compare_with_gold(result, seed_gold(name), check_text=not content_changed) == []


def test_responsibility_list_style_gives_the_same_units():
    text = to_fuze_list(seed_text("pingdingshan-2020-plan"))
    assert "排在第一位的为牵头部门" in text and "牵头单位市" not in text
    result = extract_plan(text, seed_resolver())
    assert compare_with_gold(result, seed_gold("pingdingshan-2020-plan"), check_text=False) == []


def test_lead_and_participate_wording_gives_the_same_units():
    text = to_lead_participate(seed_text("shijiazhuang-2020h2-tasks"))
    assert "牵头,市发改委配合" in text
    result = extract_plan(text, seed_resolver())
    assert compare_with_gold(result, seed_gold("shijiazhuang-2020h2-tasks"), check_text=False) == []


def test_traditional_variation_reads_back_as_simplified_text():
    result = extract_plan(to_traditional(seed_text("pingdingshan-2020-plan")), seed_resolver())
    assert result["tasks"][0]["title"] == "推进医疗健康共同体建设"
    assert "医疗" in result["tasks"][0]["text"] and "醫" not in result["tasks"][0]["text"]


def test_html_debris_does_not_become_a_task():
    result = extract_plan(wrap_html(seed_text("shijiazhuang-2020h2-tasks")), seed_resolver())
    assert all("不是任务" not in t["text"] for t in result["tasks"])
    assert all("<" not in t["text"] and "&nbsp;" not in t["text"] for t in result["tasks"])
