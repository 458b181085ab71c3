"""Writes for units, accounts and the audit trail."""

from django.core.exceptions import ValidationError
from django.db import transaction

from reform_ledger.db import current_request

# The domain errors live in the project package (every layer raises them); imported from here by older code.
from reform_ledger.errors import ApplicationError, ConflictError, PermissionDeniedError  # noqa: F401

from .models import AuditEntry, Role, Unit, UnitAlias, UnitKind, User, normalize_unit_name
from .selectors import unit_resolve


def request_ip(request=None) -> str | None:
    """The client's address (of ``request``, else of the request being served). X-Forwarded-For is trusted only
    for the NUM_PROXIES proxies we run ourselves: the entry our nearest proxy appended, counted from the right; a
    client cannot forge it to dodge lockouts."""
    if request is None:
        request = current_request.get()
    if request is None:
        return None
    from django.conf import settings

    proxies = getattr(settings, "NUM_PROXIES", 0)
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def audit_entry(
    *,
    actor=None,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    changes: dict | None = None,
    message: str = "",
    request=None,
) -> AuditEntry:
    """One audit record, not yet written: who, when, from where, what, old and new values. audit_log writes one;
    a service writing many rows at once (the quarterly form) builds them here and writes them with
    audit_log_many, so every record has the same content whichever way it was written."""
    if request is None:
        request = current_request.get()
    if (
        actor is None
        and request is not None
        and getattr(request, "user", None)
        and request.user.is_authenticated
    ):
        actor = request.user
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or str(obj.pk)
    return AuditEntry(
        actor=actor if (actor is not None and actor.pk) else None,
        actor_name=(actor.get_username() if actor is not None else "系统"),
        ip=request_ip(request),
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=str(obj)[:300] if obj is not None else "",
        changes=changes or {},
        message=message,
    )


def audit_log(
    *,
    actor=None,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    changes: dict | None = None,
    message: str = "",
    request=None,
) -> AuditEntry:
    """Append one audit record."""
    entry = audit_entry(
        actor=actor, action=action, obj=obj, object_type=object_type, object_id=object_id,
        changes=changes, message=message, request=request,
    )  # fmt: skip
    entry.save()
    return entry


def audit_log_many(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Append records built by audit_entry, in their order, with one INSERT."""
    return AuditEntry.objects.bulk_create(entries) if entries else []


def export_audit(
    *, request=None, actor=None, export: str, title: str, filters: dict | None = None, rows: int
) -> AuditEntry:
    """Record one export (issue 18: who, what, the filter, how many rows). `export` names it for searching
    (ledger, compilation, unit_form, rollup_departments, dashboard, audit_log, ...), `title` says it in Chinese."""
    shown = {k: str(v) for k, v in (filters or {}).items() if v not in (None, "")}
    return audit_log(
        actor=actor,
        request=request,
        action="export",
        object_type=export,
        changes={"filters": [None, shown], "rows": [None, rows]},
        message=f"导出{title}，{rows} 行"
        + (f"（条件：{'；'.join(f'{k}={v}' for k, v in shown.items())}）" if shown else ""),
    )


@transaction.atomic
def unit_add_alias(*, unit: Unit, alias: str, actor=None) -> UnitAlias:
    existing = unit_resolve(name=alias)
    if existing is not None and existing != unit:
        raise ApplicationError(f"别名“{alias}”已指向单位“{existing.name}”。", field="alias")
    obj, created = UnitAlias.objects.get_or_create(
        normalized=normalize_unit_name(alias), defaults={"unit": unit, "alias": alias}
    )
    if created:
        audit_log(actor=actor, action="alias_add", obj=unit, changes={"alias": [None, alias]})
    return obj


@transaction.atomic
def unit_create(*, name: str, kind: str, short_name: str = "", actor=None, request=None) -> Unit:
    """A new unit (an import that meets a name the ledger does not know and is told to add it)."""
    name = " ".join((name or "").split())
    if not name:
        raise ApplicationError("单位名称不能为空。", field="name")
    if kind not in UnitKind.values:
        raise ApplicationError(f"单位类型“{kind}”无效，可选：{'、'.join(UnitKind.labels)}。", field="kind")
    existing = unit_resolve(name=name)
    if existing is not None:
        raise ApplicationError(f"单位“{name}”已存在（{existing.name}）。", field="name")
    unit = Unit(name=name, kind=kind, short_name=short_name)
    try:
        unit.full_clean()
    except ValidationError as e:
        raise ApplicationError(f"单位“{name}”：{'；'.join(e.messages)}", field="name") from None
    unit.save()
    audit_log(
        actor=actor,
        request=request,
        action="unit_create",
        obj=unit,
        changes={"name": [None, name], "kind": [None, kind]},
    )
    return unit


@transaction.atomic
def user_upsert(
    *, username: str, role: str, password: str, unit_name: str | None = None, actor=None
) -> tuple[User, bool]:
    """Create or update an account. A reporter must belong to a unit."""
    if role not in Role.values:
        raise ApplicationError(f"未知角色“{role}”，可选：{', '.join(Role.values)}。", field="role")
    unit = None
    if unit_name:
        unit = unit_resolve(name=unit_name)
        if unit is None:
            raise ApplicationError(f"找不到单位“{unit_name}”（可用规范名称或别名）。", field="unit")
    if role == Role.REPORTER and unit is None:
        raise ApplicationError("填报员账号必须指定所属单位（--unit）。", field="unit")
    user, created = User.objects.get_or_create(username=username, defaults={"role": role})
    user.role = role
    user.unit = unit
    user.is_staff = role == Role.ADMIN  # the administrator works in the Django admin
    user.set_password(password)
    user.full_clean()
    user.save()
    audit_log(
        actor=actor,
        action="user_create" if created else "user_update",
        obj=user,
        changes={"role": [None, role]},
    )
    return user, created


@transaction.atomic
def unit_soft_delete(*, unit: Unit, actor=None, request=None, now=None) -> None:
    """Hide a unit: it is disabled and marked deleted; its tasks, reports, accounts and history stay untouched."""
    from django.utils import timezone

    if unit.deleted_at is not None:
        return
    now = now or timezone.now()
    Unit.objects.filter(pk=unit.pk).update(deleted_at=now, is_active=False)
    audit_log(
        actor=actor,
        request=request,
        action="unit_delete",
        obj=unit,
        changes={"deleted_at": [None, now.isoformat()], "is_active": [unit.is_active, False]},
    )
    unit.deleted_at, unit.is_active = now, False


@transaction.atomic
def unit_restore(*, unit: Unit, actor=None, request=None) -> None:
    """Undo a soft delete: the unit comes back with everything that referred to it."""
    if unit.deleted_at is None:
        return
    Unit.objects.filter(pk=unit.pk).update(deleted_at=None, is_active=True)
    audit_log(
        actor=actor,
        request=request,
        action="unit_restore",
        obj=unit,
        changes={"deleted_at": [unit.deleted_at.isoformat(), None], "is_active": [False, True]},
    )
    unit.deleted_at, unit.is_active = None, True
