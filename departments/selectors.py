"""Reads for units and accounts."""

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
        qs = qs.filter(
            Q(object_repr__icontains=obj)
            | Q(object_type__iexact=obj)
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
