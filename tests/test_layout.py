"""The package's layout is its architecture: imports go one way only.

reading <- training <- report, reading <- service, and cli over all of them. A module that
breaks the direction fails here with its name and the import that breaks it."""

from __future__ import annotations

import ast
from pathlib import Path

import digitscan

PACKAGE = Path(digitscan.__file__).parent
# part -> the parts it may import (besides itself and the shared top-level modules)
ALLOWED = {
    "reading": set(),
    "training": {"reading"},
    "report": {"reading", "training"},
    "service": {"reading"},
}
SHARED = {"errors", "files", "__init__"}
# Heavy or optional libraries each part must never import at module level or inside.
FORBIDDEN_LIBRARIES = {"reading": {"torch"}, "service": {"torch"}}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, relative ones resolved."""
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # from . import a, b: each name may be a module
                    found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
                    continue
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def _part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "digitscan" or len(parts) < 2:
        return None
    return parts[1]


def test_every_module_belongs_to_a_part_or_is_shared() -> None:
    top_level = {p.stem for p in PACKAGE.glob("*.py")}
    assert top_level <= SHARED | {"cli", "__main__"}, f"loose modules at the top: {top_level - SHARED}"
    for part in ALLOWED:
        assert (PACKAGE / part / "__init__.py").is_file()
        assert ast.get_docstring(ast.parse((PACKAGE / part / "__init__.py").read_text())), \
            f"{part}/__init__.py needs a docstring saying what the part is"


def test_imports_go_one_way() -> None:
    broken = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = _part(_module_name(path))
        for line, module in _imports(path):
            target = _part(module)
            if own in ALLOWED:
                if target in ALLOWED and target != own and target not in ALLOWED[own]:
                    broken.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
                if target == "cli":
                    broken.append(f"{path.relative_to(PACKAGE)}:{line} imports the CLI")
                if module.split(".")[0] in FORBIDDEN_LIBRARIES.get(own, set()):
                    broken.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
            elif own in SHARED and target in ALLOWED and path.name != "__init__.py":
                broken.append(f"{path.relative_to(PACKAGE)}:{line} (shared) imports {module}")
    assert not broken, "imports against the layout:\n" + "\n".join(broken)


def test_public_names_still_import_from_the_top() -> None:
    for name in digitscan.__all__:
        assert getattr(digitscan, name) is not None
    from digitscan import Digit, Line, Reader, Reading, TrainConfig, evaluate, read, train

    assert callable(read) and callable(train) and callable(evaluate)
    assert {Reader.__module__, Reading.__module__, Digit.__module__, Line.__module__} <= {
        "digitscan.reading.reader", "digitscan.reading.results"}
    assert TrainConfig.__module__.startswith("digitscan.training.")
