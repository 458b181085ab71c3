"""Cleaning raw plan text: HTML debris, traditional characters, punctuation, hard line breaks."""

from __future__ import annotations

import html
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

_BLOCK_TAGS = (
    "p|div|br|li|ul|ol|tr|table|tbody|thead|h[1-6]|section|article|header|footer|blockquote|dd|dt|dl|"
    "center|hr|form|nav|aside|pre|address|option|select|legend|fieldset|figure|figcaption"
)
_SCRIPT_RE = re.compile(r"<(script|style|head|noscript|template)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_BLOCK_TAG_RE = re.compile(rf"</?(?:{_BLOCK_TAGS})\b[^<>]{{0,2000}}>", re.I)
_CELL_TAG_RE = re.compile(r"</t[dh]\s*>", re.I)
_ANY_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9:-]*\b[^<>]{0,2000}>|<![^<>]{0,500}>")
_HAS_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?>")

_PUNCT = {
    "（": "(",
    "）": ")",
    "：": ":",
    "；": ";",
    "，": ",",
    "！": "!",
    "？": "?",
    "％": "%",
    "．": ".",
    "～": "~",
    "﹝": "〔",
    "﹞": "〕",
    "\u3000": " ",
    "\xa0": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u2009": " ",
    "－": "-",
    "／": "/",
    "＋": "+",
    "｜": "|",
    "「": "“",
    "」": "”",
    "『": "‘",
    "』": "’",
    "﹐": ",",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\ufeff": "",
    "\t": " | ",
    "─": "—",
    "―": "—",
    "＜": "<",
    "＞": ">",
    "＝": "=",
    "［": "[",
    "］": "]",
    "＂": '"',
}
_PUNCT.update({chr(0xFF10 + i): str(i) for i in range(10)})
_PUNCT.update({chr(0xFF21 + i): chr(0x41 + i) for i in range(26)})
_PUNCT.update({chr(0xFF41 + i): chr(0x61 + i) for i in range(26)})
_PUNCT_TABLE = str.maketrans(_PUNCT)

_BULLET_RE = re.compile(r"^[•·●◆■□▪◇○※►\-*]+\s*")
_CJK = r"\u3400-\u9fff"
_CJK_SPACE_RE = re.compile(
    rf"(?<=[{_CJK}“”、,。;:()《》〔〕])\s+(?=[{_CJK}“”、,。;:()《》〔〕\d])|(?<=[\d%])\s+(?=[{_CJK}])"
)

# Numbering markers, in the usual nesting order 一、 → (一) → 1. → (1) → ①.
CN_NUM = "一二三四五六七八九十"
_CN_ORDINAL = "一二三四五六七八九十百零〇"
MARKER_RE = re.compile(
    rf"^(?:"
    rf"第(?P<ch>[{_CN_ORDINAL}]{{1,4}})(?:章|部分)(?:\s+|$|(?=[{_CJK}]))"
    rf"|第(?P<se>[{_CN_ORDINAL}]{{1,4}})节(?:\s+|$|(?=[{_CJK}]))"
    rf"|第(?P<ar>[{_CN_ORDINAL}]{{1,4}})条(?:\s+|$|(?=[{_CJK}]))"
    rf"|"
    rf"(?P<l1>[{CN_NUM}]{{1,3}})\s*[、.]"
    rf"|\(\s*(?P<l2>[{CN_NUM}]{{1,3}})\s*\)|(?P<l2b>[{CN_NUM}]{{1,3}})\)"
    rf"|(?P<l3>\d{{1,2}})\s*(?:[、.](?!\d)|\s(?=[{_CJK}]))"
    rf"|\(\s*(?P<l4>\d{{1,2}})\s*\)|(?P<l4b>\d{{1,2}})\)"
    rf"|(?P<l5>[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳])"
    rf")\s*"
)
LABEL_START_RE = re.compile(
    r"^(?:牵头单位|牵头部门|责任单位|责任部门|配合单位|配合部门|参与单位|参与部门|协办单位|主办单位|完成时限|完成时间|时间节点|时限要求|进度安排)"
)
_ATTACHMENT_LINE_RE = re.compile(r"^附\s*件\s*\d{0,2}\s*$")
_TERMINAL = set("。!?;:)")
_NARROW_RE = re.compile(r"[0-9A-Za-z,.()%]")


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str]:
    """Characters OpenCC's t2s changes; text without any of them needs no conversion."""
    import opencc

    path = Path(opencc.__file__).with_name("dictionary") / "TSCharacters.txt"
    chars = set()
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            key, _, values = line.partition("\t")
            if len(key) == 1 and values.split(" ")[0] != key:
                chars.add(key)
    except OSError:  # pragma: no cover - unusual packaging: convert everything
        return frozenset()
    return frozenset(chars)


def to_simplified(text: str) -> str:
    if not text or text.isascii():
        return text
    trad = _traditional_chars()
    if trad and trad.isdisjoint(text):
        return text  # already simplified: skip OpenCC, the slowest step of extraction
    return _t2s().convert(text)


def strip_html(text: str) -> str:
    if "<" in text and _HAS_TAG_RE.search(text):
        text = _SCRIPT_RE.sub("\n", text)
        text = _CELL_TAG_RE.sub(" | ", text)
        text = _BLOCK_TAG_RE.sub("\n", text)
        text = _ANY_TAG_RE.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    return text


# 【牵头单位】市卫健委【责任单位】市医保局: a label in lenticular brackets is a label with a colon
_BRACKET_LABEL_RE = re.compile(
    r"[【\[〔]\s*(牵头单位|牵头部门|责任单位|责任部门|配合单位|配合部门|参与单位|协办单位|完成时限|完成时间|时间节点)\s*[】\]〕]\s*[:]?"
)


def normalize_chars(text: str) -> str:
    """HTML debris out, simplified characters, half-width ASCII punctuation."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = strip_html(text)
    text = to_simplified(text)
    text = text.translate(_PUNCT_TABLE)
    if "单位" in text or "时限" in text or "时间" in text or "部门" in text:
        text = _BRACKET_LABEL_RE.sub(
            lambda m: ("" if m.start() == 0 or text[m.start() - 1] in "\n。;(" else ";") + m.group(1) + ":",
            text,
        )
    return text


def clean_line(line: str) -> str:
    line = line.strip()
    line = _BULLET_RE.sub("", line) if line[:1] in "•·●◆■□▪◇○※►*" else line
    line = re.sub(r"[ ]{2,}", " ", line)
    return line.strip()


def squeeze_spaces(text: str) -> str:
    """Spaces between Chinese characters are layout, not content."""
    return _CJK_SPACE_RE.sub("", text).strip()


def _chapter_word(marker: str) -> str:
    return "部分" if "部分" in marker else "章"


def match_marker(text: str):
    """(kind, normalised label, end offset) when ``text`` starts with a numbering marker."""
    m = MARKER_RE.match(text)
    if not m:
        return None
    for kind, label in (
        ("ch", "第{}" + _chapter_word(m.group(0))),
        ("se", "第{}节"),
        ("ar", "第{}条"),
        ("l1", "{}"),
        ("l2", "({})"),
        ("l2b", "({})"),
        ("l3", "{}"),
        ("l4", "({})"),
        ("l4b", "({})"),
        ("l5", "{}"),
    ):
        value = m.group(kind)
        if value:
            return kind[:2], label.format(value), m.end()
    return None  # pragma: no cover


def _is_table_row(line: str) -> bool:
    return line.count("|") >= 2


def _starts_block(line: str) -> bool:
    return (
        bool(match_marker(line))
        or line.startswith("——")
        or bool(LABEL_START_RE.match(line))
        or line.startswith("附件")
    )


def _is_heading(line: str, width: int | None) -> bool:
    marker = match_marker(line)
    if not marker:
        return False
    rest = line[marker[2] :]
    return "。" not in rest and len(rest) <= 40 and (width is None or len(line) < width - 2)


def _wrap_width(lines: list[str]) -> int | None:
    """The line width of hard-wrapped text (PDF text layers, some web pages), if any."""
    long_lines = [len(line) for line in lines if len(line) >= 16]
    if len(long_lines) < 8:
        return None
    counts = Counter(long_lines)
    best, best_n = None, 0
    for width in counts:
        n = counts[width] + counts.get(width - 1, 0) + counts.get(width + 1, 0)
        if n > best_n or (n == best_n and best is not None and width > best):
            best, best_n = width, n
    if best is not None and best_n >= max(6, len(long_lines) * 0.3):
        return best + 1 if counts.get(best + 1, 0) else best
    return None


def clean_lines(text: str) -> list[str]:
    """Normalised lines; blank lines kept as ''."""
    return [clean_line(line) for line in normalize_chars(text).split("\n")]


def paragraphs(lines: list[str]) -> list[str]:
    """Join hard-wrapped lines back into paragraphs."""
    width = _wrap_width([line for line in lines if line])
    out: list[str] = []
    blank = False
    for line in lines:
        if not line:
            blank = True
            continue
        if out and _should_join(out[-1], line, blank, width):
            out[-1] = out[-1] + line
        else:
            out.append(line)
        blank = False
    return [squeeze_spaces(p) for p in out]


def _should_join(prev: str, nxt: str, blank: bool, width: int | None) -> bool:
    if _is_table_row(prev) or _is_table_row(nxt):
        return False
    if prev.count("《") > prev.count("》"):
        return not _starts_block(nxt)
    if _starts_block(nxt) or blank or _ATTACHMENT_LINE_RE.match(prev):
        return False
    if prev[-1] in _TERMINAL:
        return False
    if width is not None:
        if len(prev) >= width - 2:
            return True
        # Latin letters, digits and half-width punctuation are narrower: such a full line has fewer characters.
        return len(prev) >= width * 0.75 and bool(_NARROW_RE.search(prev)) and not _is_heading(prev, width)
    return not _is_heading(prev, width)
