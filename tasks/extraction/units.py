"""Unit names: canonical names, aliases, and the rules for reading them out of a plan."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .text import to_simplified

# Brackets are written (), （）, 〔〕, [] or 【】 around the same words; compare on one form.
_BRACKETS = str.maketrans(
    {"（": "(", "）": ")", "〔": "(", "〕": ")", "[": "(", "]": ")", "【": "(", "】": ")"}
)
_SPACE_RE = re.compile(r"\s+")

# A name "looks like" a government body when it ends with one of these.
UNIT_SUFFIX_RE = re.compile(
    r"(?:局|委|办|厅|政府|中心|海关|院|委员会|部|署|处|站|所|队|区|公司|集团|单位|部门|小组|组|室|馆|行|社|"
    r"联|会|协会|学会|大学|学校|医院|银行|支队|分局|办公室|秘书处|警备区|军分区|法院|检察院|党委|团)$"
)
# Unit names start with an administrative level or a place name, never with these words.
_NOT_UNIT_START_RE = re.compile(
    r"^(?:含|包括|如|即|指|以|主要|简称|对|在|将|把|按|为|是|其|其中|例如|全市|全省|我市)"
)
_PREFIX_RE = re.compile(r"^(省|市|区|县|州|盟|旗)")


def unit_key(name: str) -> str:
    """The form two spellings of one name are compared on."""
    name = to_simplified(name)
    name = _SPACE_RE.sub("", name).translate(_BRACKETS)
    return name.strip("，,。;；:：、")


def clean_unit_name(name: str) -> str:
    """Trim the words around a unit name that are not part of it (由…, …等, …等部门)."""
    name = _SPACE_RE.sub("", name).strip("，,。;；:：、 \"“”'")
    name = re.sub(r"^(?:由|请|会同|和|及|与|以及)", "", name)
    name = re.sub(r"(?:等有关部门|等相关部门|等部门|等单位|等)$", "", name)
    return name


def looks_like_unit(name: str) -> bool:
    if not (2 <= len(name) <= 30):
        return False
    if re.search(r"[\d%。;,:]", name) or _NOT_UNIT_START_RE.search(name):
        return False
    return bool(UNIT_SUFFIX_RE.search(name))


def unit_prefix(name: str) -> str:
    m = _PREFIX_RE.match(name)
    return m.group(1) if m else ""


class UnitResolver:
    """Maps the spellings found in plans to canonical unit names.

    ``aliases`` maps alias -> canonical name; every canonical name (the values, plus
    ``canonical_names``) also resolves to itself. Lookups ignore whitespace, traditional
    characters and the bracket style.
    """

    def __init__(self, aliases: Mapping[str, str] | None = None, canonical_names: Iterable[str] = ()):
        self._map: dict[str, str] = {}
        aliases = dict(aliases or {})
        for alias, canonical in aliases.items():
            if alias and canonical:
                self._map[unit_key(alias)] = canonical
        for canonical in [*aliases.values(), *canonical_names]:
            if canonical:
                self._map[unit_key(canonical)] = canonical
        self.canonical_names = sorted(set(self._map.values()))

    def __contains__(self, name: str) -> bool:
        return self.resolve(name) is not None

    def _lookup(self, key: str) -> str | None:
        hit = self._map.get(key)
        if hit:
            return hit
        # 市卫生健康委员会 is written for 市卫生健康委; …各成员单位 for …成员单位.
        for pattern, repl in ((r"委员会$", "委"), (r"各成员单位$", "成员单位"), (r"成员单位$", "各成员单位")):
            alt = re.sub(pattern, repl, key)
            if alt != key and alt in self._map:
                return self._map[alt]
        return None

    def resolve(self, name: str, prefix: str = "") -> str | None:
        """Canonical name for ``name`` or None.

        ``prefix`` is the level of the first unit of the same list (市…): plans write
        ``市医疗保障局、卫生健康委、财政局`` meaning 市卫生健康委 and 市财政局, so the
        prefixed form is tried first.
        """
        key = unit_key(clean_unit_name(name))
        if not key:
            return None
        if prefix and (not _PREFIX_RE.match(key) or key.startswith("市场")):
            hit = self._lookup(unit_key(prefix) + key)
            if hit:
                return hit
        return self._lookup(key)

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        """Closest canonical names, for a person mapping an unknown name."""
        try:
            from rapidfuzz import fuzz, process
        except ImportError:  # pragma: no cover - rapidfuzz is a project dependency
            return []
        choices = list(self._map)
        found = process.extract(unit_key(name), choices, scorer=fuzz.ratio, limit=limit * 3)
        out: list[str] = []
        for key, score, _ in found:
            canonical = self._map[key]
            if score >= 50 and canonical not in out:
                out.append(canonical)
        return out[:limit]
