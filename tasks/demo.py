"""The demo ledger: the two plans in fixtures/plans (hand-checked *.gold.json), their units and aliases and one
account per role (reports.demo adds the quarterly periods 2020–2022). Loading twice changes nothing."""

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction

from departments.models import Unit, UnitAlias, UnitKind, normalize_unit_name
from departments.selectors import unit_lookup_table
from departments.services import user_upsert

from .models import Task
from .services import MilestoneData, TargetData, TaskData, document_upsert, task_create

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
PLANS = ["pingdingshan-2020-plan", "shijiazhuang-2020h2-tasks"]


def _load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _ensure_units(config: dict, aliases: dict[str, str], plans: list[dict]) -> None:
    not_units = {normalize_unit_name(n) for n in config["not_units"]}
    canonical = set(aliases.values())
    for plan in plans:
        for t in plan["tasks"]:
            canonical.update(t["lead_units_normalized"] + t["responsible_units_normalized"])
    canonical = {c for c in canonical if normalize_unit_name(c) not in not_units}
    secretariat = set(config["secretariat"])
    for name in sorted(canonical):
        short = min(
            (a for a, c in aliases.items() if c == name and a != name and a.startswith("市")),
            key=len,
            default="",
        )
        kind = UnitKind.SECRETARIAT if name in secretariat else UnitKind.DEPARTMENT
        Unit.objects.get_or_create(name=name, defaults={"short_name": short, "kind": kind})
    for i, county in enumerate(config["counties"]):
        Unit.objects.get_or_create(
            name=county["name"],
            defaults={"short_name": county["short_name"], "kind": UnitKind.COUNTY, "sort_order": i},
        )
    units = {u.name: u for u in Unit.objects.all()}
    for alias, name in list(aliases.items()) + list(config["extra_aliases"].items()):
        if name in units and alias != name:
            UnitAlias.objects.get_or_create(
                normalized=normalize_unit_name(alias), defaults={"unit": units[name], "alias": alias}
            )


def _number(v) -> Decimal:
    return Decimal(str(v))


def _task_data(t: dict) -> TaskData:
    targets = []
    for g in t["targets"]:
        value, high = (g["value"], None) if not isinstance(g["value"], list) else g["value"]
        targets.append(
            TargetData(
                indicator=g["indicator"],
                op=g["op"],
                value=_number(value),
                value_high=_number(high) if high is not None else None,
                unit=g.get("unit") or "",
                due=dt.date.fromisoformat(g["by"]) if g.get("by") else None,
                text=g.get("text") or "",
            )
        )
    return TaskData(
        path=list(t["path"]),
        section=list(t.get("section") or []),
        title=t["title"],
        text=t["text"],
        lead_units=list(t["lead_units_normalized"]),
        responsible_units=list(t["responsible_units_normalized"]),
        counties=["*"] if t["counties_involved"] else [],
        milestones=[
            MilestoneData(
                date=dt.date.fromisoformat(d["date"]) if d.get("date") else None,
                text=d["text"],
                context=d.get("context") or "",
            )
            for d in t["deadlines"]
        ],
        targets=targets,
    )


def load_demo_units() -> None:
    """Only the demo's units and aliases (no plans, tasks or accounts): for tests and benchmarks."""
    _ensure_units(
        demo_config(), _load("unit_aliases.json"), [_load(f"plans/{name}.gold.json") for name in PLANS]
    )


def demo_config() -> dict:
    return _load("units.json")


@transaction.atomic
def load_demo_ledger(*, stdout=None) -> dict:
    """Units, aliases, the two plans and the accounts (the reporting periods: reports.demo.load_demo)."""
    config = demo_config()
    aliases = _load("unit_aliases.json")
    plans = [_load(f"plans/{name}.gold.json") for name in PLANS]
    _ensure_units(config, aliases, plans)
    table = unit_lookup_table()
    created_tasks = 0
    for name, plan in zip(PLANS, plans, strict=True):
        source = FIXTURES / "plans" / f"{name}.txt"
        doc, _ = document_upsert(
            doc_number=plan["doc_number"],
            title=plan["title"],
            issuer=plan.get("issuer") or "",
            issued_on=dt.date.fromisoformat(plan["issued_on"]) if plan.get("issued_on") else None,
            reporting_dates=[
                {k: r[k] for k in ("text", "month", "day")} for r in plan.get("reporting_dates", [])
            ],
            source_text=source.read_text(encoding="utf-8") if source.exists() else "",
        )
        if not doc.short_title and plan.get("title_alternatives"):
            doc.short_title = plan["title_alternatives"][0]
            doc.save(update_fields=["short_title"])
        existing = set(Task.objects.filter(document=doc).values_list("path_key", flat=True))
        for t in plan["tasks"]:
            if ".".join(t["path"]) in existing:
                continue
            task_create(document=doc, data=_task_data(t), table=table)
            created_tasks += 1
    accounts = []
    for a in config["accounts"]:
        user, _ = user_upsert(
            username=a["username"], role=a["role"], password=config["demo_password"], unit_name=a["unit"]
        )
        if a.get("display_name") and user.display_name != a["display_name"]:
            user.display_name = a["display_name"]
            user.save(update_fields=["display_name"])
        accounts.append((a["username"], config["demo_password"], user.get_role_display(), a["unit"] or ""))
    return {"created_tasks": created_tasks, "accounts": accounts}
