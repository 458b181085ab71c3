"""Who answers for a task: reading the 牵头单位 / 责任单位 attribution of a plan item."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .units import UnitResolver, clean_unit_name, looks_like_unit, unit_prefix

LEAD_LABELS = r"牵头单位|牵头部门|主办单位|主责单位|主责部门|牵头"
RESP_LABELS = (
    r"责任单位|责任部门|配合单位|配合部门|参与单位|参与部门|协办单位|协同单位|协助单位|协作单位|参加单位|"
    r"责任主体|实施单位|实施主体|承办单位"
)
DEADLINE_LABELS = r"完成时限|完成时间|时间节点|时限要求|进度安排|时间要求|完成期限"
# 牵头：X；配合：Y -- the short forms are labels only with their colon
SHORT_LEAD_LABELS = r"牵头(?=\s*:)|主责(?=\s*:)"
SHORT_RESP_LABELS = r"配合(?=\s*:)|参与(?=\s*:)|协同(?=\s*:)|协办(?=\s*:)|责任(?=\s*:)"
LABEL_RE = re.compile(
    rf"(?P<label>{DEADLINE_LABELS}|{RESP_LABELS}|牵头单位|牵头部门|主办单位|主责单位|主责部门|{SHORT_LEAD_LABELS}|{SHORT_RESP_LABELS})"
    r"\s*[:]?\s*"
)

# 各县(市、区)政府, 各县〔市、区〕党委、政府, 各县区人民政府, 各县(市、区)…: county governments, not units.
COUNTY_RE = re.compile(
    r"各(?:县|区|市|旗|乡镇|地)[^,;。:()]{0,3}?(?:[(〔（\[][^()〔〕（）\[\]]{1,10}[)〕）\]])?"
    r"(?:[^,;。:()、]{0,12}?)?"
    r"(?:党委和人民政府|党委和政府|党委、政府|党委政府|党委、人民政府|人民政府|政府|党委|党工委和管委会|党工委、管委会|管委会|医改办"
    r"|有关部门|相关部门|局|委|办)"
    r"|各县[(〔（\[]市、?区[)〕）\]]|各县市区|各县\(市\)|各区县|各县区"
)
META_RE = re.compile(r"排在|排名|首位|第一位|为牵头|下同|按职责分别牵头|以下同")
_VERB_RE = re.compile(
    r"(?P<verb>按职责分工负责|按职责分别负责|按职责分工落实|分别牵头负责|分别牵头|共同牵头|牵头负责|分别负责|共同负责|具体负责|"
    r"负责落实|按职责负责|负责|牵头|参与|配合|协助|协办|参加|落实|"
    r"统筹指导|业务指导|指导督促|督促指导|指导监督|监督指导|负责指导|指导|督导)$"
)
_ALL_LEAD_VERBS = {
    "按职责分工负责",
    "按职责分别负责",
    "按职责分工落实",
    "分别牵头负责",
    "分别牵头",
    "共同牵头",
    "分别负责",
    "牵头负责",
    "牵头",
}
_RESP_VERBS = {"参与", "配合", "协助", "协办", "参加"}
# (各县(市、区)政府负责,市卫健委指导): the counties do the work and the guiding department answers for it
# at city level, so it leads when nobody else does; next to a named lead it is a responsible unit.
_GUIDE_VERBS = {
    "统筹指导",
    "业务指导",
    "指导督促",
    "督促指导",
    "指导监督",
    "监督指导",
    "负责指导",
    "指导",
    "督导",
}
_MARKED_LEAD_RE = re.compile(r"([^()、,;:]{2,30}?)[(（](?:牵头|牵头单位|牵头部门)[)）]")
_SEP_RE = re.compile(r"[,;。\n]")
_OPEN = "(（〔[【"
_CLOSE = ")）〕]】"


@dataclass
class Attribution:
    text: str
    start: int  # offset of the attribution in the item text
    lead: list[str] = field(default_factory=list)
    responsible: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    county_units: list[str] = field(default_factory=list)
    deadline_texts: list[str] = field(default_factory=list)
    rule: str = ""
    inline: bool = False  # written as prose inside the text (由X牵头，Y配合), not closing it
    end: int | None = None  # where it ends when text follows it (sub-items folded into the task)

    @property
    def counties_involved(self) -> bool:
        return bool(self.county_units)


def split_top(text: str, seps: str) -> list[str]:
    """Split on separators outside brackets (各县(市、区)政府 keeps its 、)."""
    parts, depth, buf = [], 0, []
    for ch in text:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        if ch in seps and depth == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


class _Names:
    """Unit names of one attribution, resolved with the prefix of the first one."""

    def __init__(self, resolver: UnitResolver | None):
        self.resolver = resolver
        self.prefix = ""
        self.unknown: list[str] = []

    def resolve(self, raw: str) -> str | None:
        name = clean_unit_name(raw)
        if not name:
            return None
        if not self.prefix:
            self.prefix = unit_prefix(name)
        if self.resolver is None:
            return name
        hit = self.resolver.resolve(name, prefix=self.prefix)
        if hit:
            return hit
        if name not in self.unknown:
            self.unknown.append(name)
        return name


# 市医保局 市财政局: names separated by spaces are run together once spaces between Chinese characters go.
_RUN_TOGETHER_RE = re.compile(r"(?<=[局委办厅府心院部站所队])(?=[市省区县州])")


def _split_run_together(part: str, resolver: UnitResolver | None) -> list[str]:
    if resolver is not None and resolver.resolve(part) is not None:
        return [part]
    pieces = [p for p in _RUN_TOGETHER_RE.split(part) if p]
    if len(pieces) > 1 and all(
        looks_like_unit(p) or (resolver is not None and resolver.resolve(p)) for p in pieces
    ):
        return pieces
    return [part]


def _split_names(text: str, resolver: UnitResolver | None) -> list[str]:
    names: list[str] = []
    parts = [
        p for raw in split_top(text, "、/ ") for p in _split_run_together(clean_unit_name(raw), resolver)
    ]
    for part in parts:
        part = clean_unit_name(part)
        if not part:
            continue
        known = resolver is not None and resolver.resolve(part) is not None
        if not known and re.search(r"[和及与]", part):
            pieces = [clean_unit_name(p) for p in re.split(r"以及|[和及与]", part)]
            if len(pieces) > 1 and all(
                looks_like_unit(p) or (resolver and resolver.resolve(p)) for p in pieces
            ):
                names.extend(pieces)
                continue
        names.append(part)
    return names


def _unitish(name: str, resolver: UnitResolver | None, strict: bool = False) -> bool:
    if resolver is not None and resolver.resolve(name) is not None:
        return True
    if strict:
        return looks_like_unit(name) and bool(re.match(r"^(?:省|市|区|县|州|各)", name))
    return looks_like_unit(name)


def _take_counties(clause: str, counties: list[str]) -> str:
    def grab(m: re.Match) -> str:
        if m.group(0) not in counties:
            counties.append(m.group(0))
        return ""

    return COUNTY_RE.sub(grab, clause).strip("、,")


def parse_attribution(
    content: str, resolver: UnitResolver | None, strict: bool = False
) -> Attribution | None:
    """Read the inside of an attribution. None when it does not name who is responsible.

    ``strict`` is used for text that carries no label and no verb (``(市卫健委、市财政局)``):
    every name must then be a known unit or clearly one.
    """
    content = content.strip()
    att = Attribution(text=content, start=0)
    marked_leads: list[str] = []
    if _MARKED_LEAD_RE.search(content):
        # 责任单位:市卫健委(牵头)、市财政局 -- the lead is marked after its name
        def mark(m: re.Match) -> str:
            marked_leads.append(clean_unit_name(re.split(r"[:、,;]", m.group(1))[-1]))
            return m.group(1)

        content = _MARKED_LEAD_RE.sub(mark, content)
    names = _Names(resolver)
    pieces: list[tuple[str, str]] = []  # (kind, text) where kind is lead / resp / deadline / ''
    pos = 0
    kind = ""
    has_lead_label = False
    for m in LABEL_RE.finditer(content):
        if m.start() > pos or pos == 0:
            pieces.append((kind, content[pos : m.start()]))
        label = m.group("label")
        if re.fullmatch(DEADLINE_LABELS, label):
            kind = "deadline"
        elif re.fullmatch(RESP_LABELS, label) or label in ("配合", "参与", "协同", "协办", "责任"):
            kind = "resp"
        else:
            kind = "lead"
            has_lead_label = True
        pos = m.end()
    pieces.append((kind, content[pos:]))

    lead_raw: list[str] = []
    resp_raw: list[str] = []
    each_leads = False
    explicit_lead = has_lead_label
    labelled = any(k for k, _ in pieces)
    found_verb = False
    for kind, text in pieces:
        clauses = split_top(text, ",;。\n")
        current = kind
        for i, clause in enumerate(clauses):
            clause = clause.strip(" :")
            if not clause:
                continue
            if META_RE.search(clause):
                if "分别" in clause:
                    each_leads = True
                continue
            if current == "deadline":
                att.deadline_texts.append(clause)
                continue
            clause = _take_counties(clause, att.county_units)
            if not clause:
                continue
            verb_m = _VERB_RE.search(clause)
            if verb_m and (
                current in ("", None) or i > 0 or not _all_units(_split_names(clause, resolver), resolver)
            ):
                body = clause[: verb_m.start()]
                body = re.sub(r"^由", "", body)
                verb = verb_m.group("verb")
                if "会同" in body:
                    left, right = body.split("会同", 1)
                    left_names, right_names = _split_names(left, resolver), _split_names(right, resolver)
                    if _all_units(left_names + right_names, resolver):
                        lead_raw.extend(left_names)
                        resp_raw.extend(right_names)
                        found_verb = True
                        continue
                body_names = _split_names(body, resolver)
                if not body_names and verb in ("负责", "落实"):
                    continue  # 各县(市、区)政府负责: county only
                if not body_names or not _all_units(body_names, resolver):
                    if _has_deadline_words(clause):
                        att.deadline_texts.append(clause)
                    continue
                found_verb = True
                if verb in _RESP_VERBS or (verb in _GUIDE_VERBS and (lead_raw or explicit_lead)):
                    resp_raw.extend(body_names)
                elif verb in _GUIDE_VERBS:
                    lead_raw.append(body_names[0])  # as with 负责 lists, the first listed unit leads
                    resp_raw.extend(body_names[1:])
                elif verb in _ALL_LEAD_VERBS and not (explicit_lead and verb not in ("牵头", "牵头负责")):
                    if verb in ("牵头", "牵头负责"):
                        explicit_lead = True
                    lead_raw.extend(body_names)
                    if verb != "牵头" and verb != "牵头负责":
                        each_leads = True
                elif lead_raw:
                    resp_raw.extend(body_names)
                else:
                    lead_raw.append(body_names[0])
                    resp_raw.extend(body_names[1:])
                continue
            clause_names = _split_names(clause, resolver)
            if not clause_names:
                continue
            if _all_units(clause_names, resolver, strict=strict and not labelled):
                if current == "lead":
                    lead_raw.extend(clause_names)
                elif current == "resp":
                    resp_raw.extend(clause_names)
                elif i == 0 or not (lead_raw or resp_raw):
                    # no label, no verb: the first listed unit leads
                    if lead_raw:
                        resp_raw.extend(clause_names)
                    else:
                        lead_raw.append(clause_names[0])
                        resp_raw.extend(clause_names[1:])
                else:
                    resp_raw.extend(clause_names)
                current = current or "resp"
            elif _has_deadline_words(clause):
                att.deadline_texts.append(clause)
            elif current in ("lead", "resp") and i == 0:
                return None  # a label followed by words that are not units: body text, not an attribution

    if not labelled and not found_verb and strict is False and not (lead_raw or resp_raw or att.county_units):
        return None
    if not (lead_raw or resp_raw or att.county_units):
        return None
    if marked_leads:
        everyone = [n for n in lead_raw + resp_raw]
        lead_raw = [n for n in everyone if clean_unit_name(n) in marked_leads]
        resp_raw = [n for n in everyone if clean_unit_name(n) not in marked_leads]
        has_lead_label = True
    if labelled and not has_lead_label and not lead_raw and resp_raw:
        # only 责任单位 written: the first listed unit leads
        lead_raw, resp_raw = resp_raw[:1], resp_raw[1:]
    if has_lead_label:
        att.rule = "labels"
    elif each_leads and len(lead_raw) > 1:
        att.rule = "each_leads"
    elif lead_raw:
        att.rule = "first_leads" if (resp_raw or labelled) else "single"
    else:
        att.rule = "counties_only"

    for raw in lead_raw:
        name = names.resolve(raw)
        if name and name not in att.lead:
            att.lead.append(name)
    for raw in resp_raw:
        name = names.resolve(raw)
        if name and name not in att.lead and name not in att.responsible:
            att.responsible.append(name)
    att.unknown = names.unknown
    return att


def _all_units(names: list[str], resolver: UnitResolver | None, strict: bool = False) -> bool:
    return bool(names) and all(_unitish(n, resolver, strict) for n in names)


_DEADLINE_WORDS_RE = re.compile(
    r"\d{4}年|\d+\s*个?(?:工作日|月|日|天|周)|年底|年内|上半年|下半年|长期|持续|时限|完成|月底"
)


def _has_deadline_words(clause: str) -> bool:
    return bool(_DEADLINE_WORDS_RE.search(clause))


def _matching_open(text: str, close_at: int) -> int:
    depth = 0
    for i in range(close_at, -1, -1):
        ch = text[i]
        if ch in _CLOSE:
            depth += 1
        elif ch in _OPEN:
            depth -= 1
            if depth == 0:
                return i
    return -1


def _unmatched_open(text: str) -> int:
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        ch = text[i]
        if ch in _CLOSE:
            depth += 1
        elif ch in _OPEN:
            if depth == 0:
                return i
            depth -= 1
    return -1


_LABEL_ANYWHERE_RE = re.compile(rf"(?:^|(?<=[。;\n\s]))(?:{LEAD_LABELS}|{RESP_LABELS})\s*[:]?")


def find_attribution(text: str, resolver: UnitResolver | None) -> Attribution | None:
    """The attribution at the end of an item's text, with its offset; None if there is none."""
    stripped = text.rstrip(" 。;.,\n")
    if not stripped:
        return None
    candidates: list[tuple[int, str, bool]] = []
    if stripped[-1] in _CLOSE:
        start = _matching_open(stripped, len(stripped) - 1)
        if start > 0:
            candidates.append((start, stripped[start + 1 : -1], True))
    else:
        start = _unmatched_open(stripped)
        if start > 0 and len(stripped) - start < 400:
            candidates.append((start, stripped[start + 1 :], True))
    for m in _LABEL_ANYWHERE_RE.finditer(stripped):
        if m.start() > 0:
            candidates.append((m.start(), stripped[m.start() :], False))
            break
    last_sentence_at = max(stripped.rfind("。"), stripped.rfind("\n"))
    if last_sentence_at > 0 and len(stripped) - last_sentence_at < 120:
        candidates.append((last_sentence_at + 1, stripped[last_sentence_at + 1 :], False))

    for start, content, bracketed in candidates:
        has_label = bool(LABEL_RE.search(content))
        verb_tail = bool(_VERB_RE.search(split_top(content, ",;")[0])) if content else False
        if not bracketed and not has_label and not verb_tail:
            continue
        att = parse_attribution(content, resolver, strict=not (has_label or verb_tail or _has_verb(content)))
        named = (att.lead + att.responsible) if att else []
        if (
            att
            and not bracketed
            and not has_label
            and named
            and not _unitish(named[0], resolver, strict=True)
        ):
            continue  # 由政府牵头，医疗机构负责: running text about kinds of bodies, not who answers for the task
        if att:
            att.start = start
            att.text = stripped[start:] if bracketed else content
            if bracketed and text.rstrip(" 。;.,\n") != stripped:
                pass
            return att
    return None


def _has_verb(content: str) -> bool:
    return any(_VERB_RE.search(c) for c in split_top(content, ",;"))


# 由市医改领导小组牵头，市卫生计生委负责 / 由X牵头，Y、Z配合: who answers for a measure, written as prose inside
# the text (interpretation documents, notices). A clause starts with 由 and ends with its verb; the clauses after it
# that are names followed by a verb belong to it.
_PROSE_START_RE = re.compile(
    r"由(?P<names>[^,;。:()“”《》]{2,80}?)(?P<verb>牵头负责|共同牵头|牵头|具体负责|共同负责|分别负责|按职责分工负责|负责)(?=[,;。)]|$)"
)
_PROSE_MORE_RE = re.compile(
    r"[,;]\s*(?P<names>[^,;。:“”《》]{2,80}?)(?P<verb>按职责分工负责|按职责负责|分别负责|共同负责|具体负责|负责落实|负责|参与|配合|协助|协办|参加|组织实施|具体落实|落实)(?=[,;。)]|$)"
)


def find_prose_attribution(text: str, resolver: UnitResolver | None) -> Attribution | None:
    """The first 由…牵头/负责 clause (and the unit clauses right after it) anywhere in a measure's text."""
    for m in _PROSE_START_RE.finditer(text):
        names = _split_names(re.sub(r"^由", "", m.group("names")), resolver)
        if not names or not _all_units(names[:1], resolver, strict=True) or not _all_units(names, resolver):
            continue  # 由政府牵头 / 由医院负责: a kind of body, not a named unit
        end = m.end()
        while True:
            more = _PROSE_MORE_RE.match(text, end)
            if not more:
                break
            more_names = (
                _split_names(_take_counties(more.group("names"), []), resolver) if more.group("names") else []
            )
            if more_names and not _all_units(more_names, resolver):
                break
            if not more_names and not COUNTY_RE.search(more.group("names")):
                break
            end = more.end()
        span = text[m.start() : end]
        att = parse_attribution(span, resolver)
        if att is not None and (att.lead or att.responsible):
            att.start, att.text, att.inline = m.start(), span, True
            return att
    return None
