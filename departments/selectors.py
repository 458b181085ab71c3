"""Reads for units and accounts."""

import re

from django.db.models import QuerySet

from .former_names import current_names, strip_etc
from .models import Unit, UnitAlias, UnitKind, normalize_unit_name


def units_active() -> QuerySet[Unit]:
    return Unit.objects.filter(deleted_at__isnull=True)


def unit_lookup_table() -> dict[str, Unit]:
    """normalized name/short name/alias -> Unit, built with two queries; callers that resolve many names use it."""
    table: dict[str, Unit] = {}
    units = {u.pk: u for u in units_active()}
    for u in units.values():
        table.setdefault(normalize_unit_name(u.name), u)
        if u.short_name:
            table.setdefault(normalize_unit_name(u.short_name), u)
    for alias in UnitAlias.objects.all():
        if alias.unit_id in units:
            table[alias.normalized] = units[alias.unit_id]
    return table


def _lookup(table: dict[str, Unit], key: str) -> Unit | None:
    unit = table.get(key)
    if unit is None and not key.startswith("市"):
        # Plans write 市 only on the first unit of a list: 卫生健康委 means 市卫生健康委.
        unit = table.get("市" + key)
    if unit is None and key.endswith("委员会"):
        unit = table.get(key[: -len("委员会")] + "委") or table.get("市" + key[: -len("委员会")] + "委")
    return unit


def resolve_in_table(table: dict[str, Unit], name: str) -> Unit | None:
    """A unit by its name, short name or alias; a trailing 等 is dropped and a name from before the 2018
    reorganisation (市卫生计生委) resolves to the body that took its place, when that replacement is certain."""
    key = normalize_unit_name(name)
    if not key:
        return None
    unit = _lookup(table, key)
    if unit is None and (bare := strip_etc(key)) != key and bare:
        key = bare
        unit = _lookup(table, key)
    if unit is None:
        candidates, certain = current_names(key)
        if certain:
            for candidate in candidates:
                if unit := _lookup(table, normalize_unit_name(candidate)):
                    break
    return unit


def former_name_suggestions(table: dict[str, Unit], name: str) -> list[Unit]:
    """The bodies that replaced a former name, also where the old duties were split (物价局): to suggest only."""
    out: list[Unit] = []
    for candidate in current_names(strip_etc(normalize_unit_name(name)))[0]:
        unit = _lookup(table, normalize_unit_name(candidate))
        if unit is not None and unit not in out:
            out.append(unit)
    return out


def unit_resolve(*, name: str) -> Unit | None:
    return resolve_in_table(unit_lookup_table(), name)


def unit_suggestions(*, name: str, limit: int = 3, table: dict[str, Unit] | None = None) -> list[Unit]:
    """The closest known units for a name nobody knows, for "did you mean" messages."""
    from rapidfuzz import fuzz, process

    table = table if table is not None else unit_lookup_table()
    key = normalize_unit_name(name)
    if not key or not table:
        return []
    result = former_name_suggestions(table, key)[:limit]
    seen = {u.pk for u in result}
    if len(result) >= limit:
        return result
    matches = process.extract(key, list(table.keys()), scorer=fuzz.WRatio, limit=limit * 4, score_cutoff=50)
    for candidate, _score, _ in matches:
        unit = table[candidate]
        if unit.pk not in seen:
            seen.add(unit.pk)
            result.append(unit)
        if len(result) >= limit:
            break
    return result


def counties() -> QuerySet[Unit]:
    return units_active().filter(kind=UnitKind.COUNTY)


def unit_datalist_options(*, kinds: list[str] | None = None) -> list[tuple[str, str]]:
    """(what a person may type, the canonical name it resolves to) for an <input list> datalist.

    Canonical names, short names and aliases all appear, so typing 市卫健委 offers 市卫生健康委.
    """
    units = units_active().filter(**({"kind__in": kinds} if kinds else {}))
    names: dict[int, str] = {}
    options: dict[str, str] = {}
    # Sorted in Python, as before: the same order whatever the database collation.
    rows = sorted(units.values_list("kind", "sort_order", "name", "pk", "short_name"))
    for _kind, _order, name, pk, short_name in rows:
        names[pk] = name
        options.setdefault(name, name)
        if short_name:
            options.setdefault(short_name, name)
    for unit_id, alias in (
        UnitAlias.objects.filter(unit_id__in=units.values("pk"))
        .order_by("alias")
        .values_list("unit_id", "alias")
    ):
        options.setdefault(alias, names[unit_id])
    return list(options.items())


def audit_entries_search(
    *,
    actor: str = "",
    action: str = "",
    obj: str = "",
    ip: str = "",
    date_from=None,
    date_to=None,
):
    """Audit records matching the auditor's search; dates are whole local days, both ends included."""
    import datetime as dt

    from django.db.models import Q
    from django.utils import timezone

    from .models import AuditEntry

    qs = AuditEntry.objects.all()
    if actor:
        qs = qs.filter(actor_name__icontains=actor)
    if action:
        qs = qs.filter(action=action)
    if obj:
        from .audit_display import OBJECT_TYPE_LABELS

        # "任务" finds every task record, as "task" does
        types = [code for code, label in OBJECT_TYPE_LABELS.items() if label == obj.strip()]
        qs = qs.filter(
            Q(object_repr__icontains=obj)
            | Q(object_type__iexact=obj)
            | Q(object_type__in=types)
            | Q(object_id=obj)
            | Q(message__icontains=obj)
        )
    if ip:
        qs = qs.filter(ip=ip)
    tz = timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz))
    if date_to:
        qs = qs.filter(at__lt=dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    return qs.order_by("-at", "-id")


def audit_actions() -> list[str]:
    from .models import AuditEntry

    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


def audit_action_choices() -> list[tuple[str, str]]:
    """(code, Chinese label) of the actions on record, by label: the auditor's search list."""
    from .audit_display import action_label

    return sorted(((code, action_label(code)) for code in audit_actions()), key=lambda c: c[1])


def units_audit_labels(ids: list[str]) -> dict[str, str]:
    """单位 市医疗保障局 (soft-deleted units included): the audit log's name for a unit id."""
    return {
        str(pk): f"单位 {name}"
        for pk, name in Unit.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()]).values_list(
            "pk", "name"
        )
    }


def users_audit_labels(ids: list[str]) -> dict[str, str]:
    from .models import Role, User

    roles = dict(Role.choices)
    return {
        str(pk): f"账号 {username}（{roles.get(role, role)}）"
        for pk, username, role in User.objects.filter(
            pk__in=[int(i) for i in ids if i.isdigit()]
        ).values_list("pk", "username", "role")
    }


# The level a name starts with and the kind of body it ends with: 市 … 局. Two names of different kinds
# (局 / 委 / 办 …) are never the same unit, however many characters they share.
_LEVEL_RE = re.compile(r"^(?:中共)?(?:省|市(?!场)|区|县|州)")  # 市场监管局 starts with 市场, not 市
_KIND_RE = re.compile(r"(委员会|委|局|办公室|办|厅|中心|院|政府|小组|部|处|所|站|队|会|社|行)$")


def _core(key: str) -> tuple[str, str]:
    key = _LEVEL_RE.sub("", key)
    kind = _KIND_RE.search(key)
    suffix = kind.group(1) if kind else ""
    if suffix == "委员会":
        suffix = "委"
    return (key[: kind.start()] if kind else key), suffix


def _is_abbreviation(short: str, long: str) -> bool:
    """人社 of 人力资源和社会保障, 卫健 of 卫生健康, 发改 of 发展改革: same first character, the rest in order."""
    if not short or not long or len(short) >= len(long) or short[0] != long[0]:
        return False
    pos = 0
    for ch in short:
        pos = long.find(ch, pos)
        if pos == -1:
            return False
        pos += 1
    return True


def unit_match_candidates(*, name: str, table: dict[str, Unit] | None = None, limit: int = 5) -> list[dict]:
    """Known units a person may mean by an unknown name, best first: ``{"unit", "score", "strong", "reason"}``.

    ``strong`` is true only when the name is that unit's name written another way (an abbreviation of the same
    kind of body, 委员会 for 委, a level prefix more or less) and no other unit fits as well; only a strong match
    may be preselected. A name that merely shares characters (市公安局 / 市人力资源和社会保障局) is a weak
    suggestion: listed, never chosen for the person.
    """
    from rapidfuzz import fuzz

    table = table if table is not None else unit_lookup_table()
    key = normalize_unit_name(name)
    if not key or not table:
        return []
    core, kind = _core(key)
    best: dict[int, dict] = {}
    for candidate, unit in table.items():
        c_core, c_kind = _core(candidate)
        same_kind = bool(kind) and kind == c_kind
        score = fuzz.ratio(key, candidate)
        reason = ""
        if same_kind and core and core == c_core:
            score, reason = 100, "同一名称的另一种写法"
        elif same_kind and (_is_abbreviation(core, c_core) or _is_abbreviation(c_core, core)):
            score, reason = max(score, 92), "简称"
        elif not same_kind and kind and c_kind:
            score = min(score, 60)  # a 局 is not a 委
        if score < 50:
            continue
        current = best.get(unit.pk)
        if current is None or score > current["score"]:
            best[unit.pk] = {
                "unit": unit,
                "score": round(score),
                "strong": bool(reason),
                "reason": reason or "名称相近",
            }
    ranked = sorted(best.values(), key=lambda c: (-c["score"], c["unit"].name))[:limit]
    strong = [c for c in ranked if c["strong"]]
    if len(strong) > 1 and strong[0]["score"] == strong[1]["score"]:
        for c in strong:
            c["strong"] = False  # two units fit equally: the person decides
    return ranked
