"""The apps import downward only: reports -> tasks -> departments -> reform_ledger (the project package).

Read from the source with ast (nothing is imported): every import between the project's modules, at module
level or inside a function, must point down the layers or stay inside its app; the module-level imports form
no cycle; and no function-local import closes a cycle that a module-level one would (a local import may put off
a slow library or a model import until Django is ready, never hide a cycle).

The project package's wiring -- the URLconfs, the home view and the menu, the Celery app, settings -- is what
Django and Celery load on top of every app, so it may import them; nothing may import it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["reform_ledger", "departments", "tasks", "reports"]  # lowest first
WIRING = (
    "reform_ledger.urls",
    "reform_ledger.api",
    "reform_ledger.views",
    "reform_ledger.context_processors",
    "reform_ledger.celery",
    "reform_ledger.wsgi",
    "reform_ledger.settings",
)


# Modules still allowed to import upward while they are being moved (none left: the 汇总表, the unit form and
# the ledger export page went to reports/). Add none.
PENDING: set[str] = set()


def _is_wiring(module: str) -> bool:
    # The package's __init__ starts the Celery app (Celery's Django layout), so it is wiring too.
    return module == "reform_ledger" or any(module == w or module.startswith(w + ".") for w in WIRING)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for app in LAYERS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                out[_module_name(path)] = path
    return out


MODULES = _modules()


def _target(name: str) -> str | None:
    """The project module an imported name lives in (the longest known prefix), or None for a library."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _imports(module: str, path: Path):
    """(imported project module, line, is_local) for every import in the file; TYPE_CHECKING blocks skipped."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node, local):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inner = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            names = []
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(anchor + ([child.module] if child.module else []))
                names = [f"{base}.{a.name}" for a in child.names] + [base]
            targets = {t for t in (_target(n) for n in names) if t and t != module}
            # `from reports import rollups` imports reports.rollups, not (only) the package
            if isinstance(child, ast.ImportFrom) and any(
                _target(f"{base}.{a.name}") != _target(base) for a in child.names
            ):
                targets.discard(_target(base))
            for t in targets:
                yield t, child.lineno, local
            yield from visit(child, inner)

    yield from visit(tree, False)


EDGES = [(m, t, line, local) for m, p in MODULES.items() for t, line, local in _imports(m, p)]


def _layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def test_apps_import_downward_only():
    upward = [
        f"{MODULES[m].relative_to(ROOT)}:{line}: {m} imports {t}"
        for m, t, line, _local in EDGES
        if not _is_wiring(m) and m not in PENDING and (_is_wiring(t) or _layer(t) > _layer(m))
    ]
    still_pending = sorted(m for m in PENDING if any(e[0] == m and _layer(e[1]) > _layer(m) for e in EDGES))
    assert still_pending == sorted(PENDING), (
        f"no longer importing upward, remove from PENDING: {set(PENDING) - set(still_pending)}"
    )
    assert not upward, (
        "imports against the direction reports -> tasks -> departments -> reform_ledger:\n"
        + "\n".join(upward)
    )


def _graph(include_local: bool = False) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m, t, _line, local in EDGES:
        if include_local or not local:
            graph[m].add(t)
    return graph


def _reaches(graph, start: str, goal: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(graph[node])
    return False


def test_module_level_imports_form_no_cycle():
    graph = _graph()
    cycles = sorted({" <-> ".join(sorted((m, t))) for m in graph for t in graph[m] if _reaches(graph, t, m)})
    assert not cycles, "modules that import each other:\n" + "\n".join(cycles)


def test_no_function_local_import_dodges_a_cycle():
    graph = _graph()
    dodges = [
        f"{MODULES[m].relative_to(ROOT)}:{line}: {m} imports {t} inside a function, and {t} imports {m}"
        for m, t, line, local in EDGES
        if local and _reaches(graph, t, m)
    ]
    assert not dodges, "\n".join(dodges)


@pytest.mark.parametrize(
    "module", ["reports.jobs", "reports.reminders", "tasks.selectors", "departments.permissions"]
)
def test_the_reader_finds_the_imports(module):
    """The checks above would pass on an empty graph; make sure the reader sees real imports."""
    assert any(m == module for m, _t, _l, _local in EDGES)
