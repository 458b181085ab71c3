"""Numeric targets: '县域就诊率提高到90%以上', '新建22个“国医堂”', '增加30元'."""

from __future__ import annotations

import re

from .dates import Deadline, cn_to_int

_UNITS = (
    "个百分点",
    "百分点",
    "%",
    "‰",
    "万人次",
    "人次",
    "万人",
    "万元",
    "亿元",
    "千元",
    "元",
    "平方米",
    "公里",
    "分钟",
    "小时",
    "个",
    "项",
    "家",
    "所",
    "名",
    "人",
    "张",
    "床",
    "台",
    "套",
    "种",
    "支",
    "次",
    "座",
    "处",
    "条",
    "类",
    "批",
    "户",
    "辆",
    "岁",
    "倍",
    "篇",
    "件",
    "例",
    "间",
    "天",
)
_UNIT_ALT = "|".join(re.escape(u) for u in _UNITS)
_NUM = r"\d+(?:\.\d+)?"
_NUMBER_RE = re.compile(
    rf"(?P<a>{_NUM})\s*(?:(?P<u1>%|个|项|家|所|名|人|张|元)?\s*(?P<dash>[-—–~至到])\s*(?P<b>{_NUM}))?\s*(?P<unit>{_UNIT_ALT})"
    rf"|(?<![第每前后一二三四五六七八九十两])(?P<cn>[两二三四五六七八九十]|十[一二三四五六七八九]|[二三四五六七八九]十[一二三四五六七八九]?)(?P<cnunit>项|个|类|种|批|家|所|名)"
)
# What follows a count when it is a duration, not a count: 1个月, 15个工作日.
_DURATION_AFTER_RE = re.compile(r"^(?:月|工作日|自然日|小时|季度|周|年|星期)")
_ACHIEVE_VERBS = (
    "新建",
    "新增",
    "新设",
    "建设",
    "建成",
    "打造",
    "创建",
    "争创",
    "创成",
    "培育",
    "培养",
    "培训",
    "招聘",
    "招收",
    "实施",
    "落实",
    "开展",
    "完成",
    "设置",
    "配备",
    "设立",
    "组建",
    "达到",
    "拥有",
    "增加",
    "扩大到",
    "覆盖",
    "遴选",
    "认定",
    "建立",
    "评选",
    "推广",
    "引进",
    "改造",
    "提升",
    "提高",
    "确保",
    "有",
    "达",
    "遴选出",
    "筛选",
)
_VERB_RE = re.compile("|".join(sorted(_ACHIEVE_VERBS, key=len, reverse=True)))
_GE_RE = re.compile(
    r"(?:不低于|不少于|不小于|至少|最少|提高到|提高至|提升到|提升至|增加到|增加至|增长到|增长至|扩大到|扩大至|达到|上升到|上升至|升至|达)(?:有|拥有|为|在)?$"
)
_LE_RE = re.compile(
    r"(?:不超过|不高于|不多于|不大于|控制在|降低到|降低至|降到|降至|下降到|下降至|压缩到|压缩至|减少到|减少至|缩短到|缩短至|缩短为)$"
)
# days are a target only when an indicator is brought to them (平均住院日控制在8天以内), never as a time
# limit (付款不超过30天, 30天内办结)
_DAYS_TARGET_RE = re.compile(
    r"(?:控制在|缩短到|缩短至|缩短为|降低到|降低至|降到|降至|下降到|下降至|压缩到|压缩至|减少到|减少至)$"
)
_GT_RE = re.compile(r"(?:超过|高于|大于|多于)$")
_LT_RE = re.compile(r"(?:低于|小于|少于)$")
_INC_RE = re.compile(r"(?:增加|提高|提升|增长|上升|新增加)$")
_DEC_RE = re.compile(r"(?:降低|下降|减少|压缩|缩短)$")
_APPROX_RE = re.compile(r"(?:约|大约|近)$")
_SUFFIX_GE_RE = re.compile(r"^(?:及以上|以上)")
_SUFFIX_LE_RE = re.compile(r"^(?:及以下|以下|以内|之内)")
_SUFFIX_APPROX_RE = re.compile(r"^左右")
_LEADING_NOISE_RE = re.compile(
    r"^(?:\(\d{1,2}\)|\d{1,2}[.、]|[①②③④⑤⑥⑦⑧⑨⑩]|(?:到|至|在|于)?(?:19|20)\d{2}年(?:底|末|内)?(?:前)?|力争|努力|争取|确保|全市|全省|全县|全区|我市|使|让|实现|要|各地|逐步|进一步|,|、)+"
)
_TRAILING_NOISE_RE = re.compile(
    r"(?:力争|努力|争取|要|将|要求|确保|逐步|进一步|稳步|持续|均|都|分别|全部|平均|稳定)+$"
)
_PREDICATE_RE = re.compile(
    r"具备|达到|实现|开展|建立|完成|接受|纳入|拥有|使用|覆盖|参与|通过|具有|提供|配备|落实|签约"
)


def _clauses(sentence: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for i, ch in enumerate(sentence):
        if ch in ",;:":
            out.append((start, sentence[start:i]))
            start = i + 1
    out.append((start, sentence[start:]))
    return out


def _quoted(text: str, pos: int) -> bool:
    """Inside “…” or 《…》 at pos: labels such as “两个允许” are not targets."""
    for open_ch, close_ch in (("“", "”"), ("《", "》"), ('"', '"')):
        open_at = text.rfind(open_ch, max(0, pos - 40), pos)
        if open_at != -1 and text.find(close_ch, open_at + 1, pos) == -1:
            if open_ch != '"' or text[:pos].count('"') % 2 == 1:
                return True
    return False


def _sentences(text: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for m in re.finditer(r"[。;!?\n]", text):
        out.append((start, text[start : m.start()]))
        start = m.end()
    out.append((start, text[start:]))
    return [(s, t) for s, t in out if t.strip()]


def _noun_after(post: str) -> str:
    post = post.lstrip("的")
    if post.startswith("“"):
        end = post.find("”")
        if end > 0:
            return post[: end + 1]
    m = re.match(r"[^、,;。和及与\d()“]+", post)
    noun = m.group(0) if m else ""
    q = re.match(r"([^、,;。和及与\d()]*?“[^”]+”)", post)
    if q and len(q.group(1)) <= 20:
        noun = q.group(1)
    return noun[:20]


def _indicator(clause: str, start: int, end: int, unit: str, op_start: int | None) -> str:
    pre = clause[:start]
    post = clause[end:]
    if unit not in ("%", "‰", "个百分点", "百分点"):
        every = re.search(
            r"(每(?:个|一个|万名|千名|百名|万|千|百)?[^\d,;、每]{1,8}?)(?:至少|都|均)?(?:拥有|有|配备|配置|建有|达到|不少于)",
            pre,
        )
        noun = _noun_after(post)
        if unit in ("名", "人") and noun.endswith("服务"):
            noun = noun[:-2]
        if every and noun:
            return every.group(1) + noun.strip("“”") + "数"
    if op_start is not None:
        subject = _TRAILING_NOISE_RE.sub("", _LEADING_NOISE_RE.sub("", clause[:op_start]))
        if len(subject) >= 2:
            return subject
    if unit in ("%", "‰") and post.startswith("的"):
        rest = post[1:]
        pm = _PREDICATE_RE.search(rest)
        if pm and pm.start() > 0:
            return f"{rest[pm.start() :]}的{rest[: pm.start()]}比例"
        return f"{rest}比例" if rest else "比例"
    if unit in ("%", "‰") and pre.endswith("的"):
        base = re.sub(r"^.*?(?:按|占|以)", "", pre[:-1])
        action = re.match(r"[^给到于至,]*", post).group(0)[:6]
        source = re.search(r"从(.{2,12}?)中", pre)
        action = (source.group(1) if source else "") + action
        return f"{action}比例(占{base})" if action else f"占{base}比例"
    noun = _noun_after(post)
    if noun.startswith("“") and noun.endswith("”"):
        noun = noun[1:-1] if not re.search(r"(?:新建|新增|新设)$", pre) else noun
    quote = re.search(r"为(“[^”]+”)", post)
    if quote:
        return quote.group(1).strip("“”") + "数"
    if unit in ("名", "人") and noun.endswith("服务"):
        noun = noun[:-2]
    verbs = list(_VERB_RE.finditer(pre))
    if verbs and noun:
        verb = verbs[-1]
        between = re.sub(r"(?:及|和|与|等|共|的|了|共计)+$", "", pre[verb.end() :])
        if verb.group(0) in ("新建", "新增", "新设"):
            return verb.group(0) + noun + "数"
        if verb.group(0) in ("建设", "建成"):
            return noun + "建设数"
        if 0 < len(between) <= 8:
            return between + noun + "数"
        return noun + "数"
    if noun:
        return noun + "数"
    if verbs and unit not in ("%", "‰", "个百分点", "百分点"):
        # 年内建成社区医院3家: the thing counted stands between the verb and the number
        verb = verbs[-1]
        thing = re.sub(r"(?:及|和|与|等|共|的|了|共计)+$", "", pre[verb.end() :]).strip()
        if 2 <= len(thing) <= 16 and not re.search(r"[,;、\d]", thing):
            if verb.group(0) in ("新建", "新增", "新设"):
                return verb.group(0) + thing + "数"
            if verb.group(0) in ("建设", "建成"):
                return thing + "建设数"
            return thing + "数"
    return _LEADING_NOISE_RE.sub("", clause).strip()


def find_targets(text: str, deadlines: list[Deadline]) -> list[dict]:
    """Numeric targets in ``text`` (a task body without its attribution)."""
    targets: list[dict] = []
    dated = [d for d in deadlines if d.date is not None]
    for s_start, sentence in _sentences(text):
        prev_in_clause: tuple[int, str] | None = None  # (clause index, op) of the last target
        clauses = _clauses(sentence)
        for c_index, (c_start, clause) in enumerate(clauses):
            matches = list(_NUMBER_RE.finditer(clause))
            last_end = 0
            for m in matches:
                abs_pos = s_start + c_start + m.start()
                if _quoted(text, abs_pos):
                    continue
                before = clause[max(0, m.start() - 1) : m.start()]
                if before and (before.isdigit() or before in ".第"):
                    continue
                unit = m.group("unit") or m.group("cnunit")
                after = clause[m.end() : m.end() + 4]
                if unit in ("个",) and _DURATION_AFTER_RE.match(after):
                    continue
                if m.group("cn"):
                    value = cn_to_int(m.group("cn"))
                    low = high = value
                    is_range = False
                else:
                    low = _num(m.group("a"))
                    high = _num(m.group("b")) if m.group("b") else None
                    is_range = high is not None
                pre = clause[: m.start()]
                window = clause[last_end : m.start()]
                op, op_start = _op(window, clause[m.end() :], last_end)
                # 增长10%以上 / 下降5%以上: a bound on the change itself, read as the indicator's 增幅/降幅
                change_word = ""
                if op in (">=", "<=", "~") and op_start is not None:
                    change = re.search(
                        rf"(?:{_INC_RE.pattern[:-1]})$|(?:{_DEC_RE.pattern[:-1]})$", window.rstrip()
                    )
                    if change and not _GE_RE.search(window.rstrip()) and not _LE_RE.search(window.rstrip()):
                        change_word = "降幅" if _DEC_RE.search(window.rstrip()) else "增幅"
                if unit == "天" and not _DAYS_TARGET_RE.search(window.rstrip()):
                    last_end = m.end()  # 30天内办结 is a time limit; 平均住院日控制在8天以内 is a target
                    continue
                if is_range:
                    op = "between"
                is_share = unit in ("%", "‰", "个百分点", "百分点")
                if not is_share and op is None:
                    # a count is a target only when something is to be built, reached or kept
                    if before == "的" or not _VERB_RE.search(pre):
                        last_end = m.end()
                        continue
                if (
                    op is None
                    and prev_in_clause
                    and prev_in_clause[0] == c_index
                    and re.fullmatch(r"[^,;]{0,12}?(?:和|及|与|、)", clause[last_end : m.start()] or "x")
                ):
                    op = prev_in_clause[1]
                if op is None:
                    op = ">=" if is_share and clause[m.end() :].startswith("的") else "="
                value: float | list
                if op == "between":
                    value = [low, high]
                elif op == "+=" and _DEC_RE.search(window.rstrip()):
                    value = -low
                else:
                    value = low
                indicator = _indicator(
                    clause,
                    m.start(),
                    m.end() + _suffix_len(clause[m.end() :]),
                    unit,
                    op_start if op_start is not None and op_start >= 0 else None,
                )
                if change_word and not indicator.endswith(change_word):
                    indicator += change_word
                by = None
                for d in dated:
                    if d.start <= abs_pos and d.start >= s_start:
                        by = d.date
                if by is None:
                    for d in dated:
                        if (
                            s_start + c_start <= d.start
                            and d.end <= s_start + c_start + len(clause)
                            and d.start > abs_pos
                        ):
                            by = d.date
                            break
                seg_start = _segment_start(clause, last_end, m.start())
                targets.append(
                    {
                        "text": clause[seg_start : m.end() + _suffix_len(clause[m.end() :])].strip()
                        if len(clause) > 60
                        else clause.strip(),
                        "indicator": indicator,
                        "op": op,
                        "value": value,
                        "unit": unit,
                        "by": by.isoformat() if by else None,
                    }
                )
                prev_in_clause = (c_index, op)
                last_end = m.end()
    return targets


def _segment_start(clause: str, last_end: int, num_start: int) -> int:
    cut = max(clause.rfind("、", last_end, num_start), clause.rfind("以及", last_end, num_start))
    start = cut + 1 if cut >= last_end and cut != -1 else last_end
    return max(start, num_start - 30)


def _suffix_len(after: str) -> int:
    m = re.match(r"(?:及以上|以上|及以下|以下|以内|之内|左右)", after)
    return m.end() if m else 0


def _num(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def _op(window: str, after: str, offset: int) -> tuple[str | None, int | None]:
    """Comparison from the words just before and after a number, and where the words start."""
    w = window.rstrip()
    op, op_start = None, None
    for regex, name in (
        (_LE_RE, "<="),
        (_GE_RE, ">="),
        (_GT_RE, ">"),
        (_LT_RE, "<"),
        (_INC_RE, "+="),
        (_DEC_RE, "+="),
        (_APPROX_RE, "~"),
    ):
        m = regex.search(w)
        if m:
            op, op_start = name, offset + m.start()
            break
    if _SUFFIX_GE_RE.match(after):
        op = ">="
    elif _SUFFIX_LE_RE.match(after):
        op = "<="
    elif _SUFFIX_APPROX_RE.match(after):
        op = "~"
    return op, op_start
