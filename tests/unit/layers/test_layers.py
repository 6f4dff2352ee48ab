"""The layers of the package, as the folders show them (docs/decisions.md D27), checked on
the source with ``ast``:

- the checks (``harness/conformance``) and the evidence records (``harness/evidence``)
  import only the pure protocol packages, the capture reader and each other: never the
  endpoints, scenarios, faults, the lab, the targets, sockets, asyncio or pytest, so a
  check can be judged again over recorded evidence without root or a lab;
- no two packages of ``harness`` import each other, directly or through others.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3] / "harness"

#: What each pure layer may import of the harness (beside itself).
ALLOWED = {
    "evidence": {"sip", "sdp", "media", "capture", "ice", "errors"},
    "conformance": {"evidence", "sip", "sdp", "media", "capture", "ice", "errors"},
}
#: Nor, from outside the harness, what would tie them to I/O or to pytest.
FORBIDDEN_OUTSIDE = {"socket", "asyncio", "selectors", "subprocess", "threading", "pytest",
                     "allure", "docker"}


def imports_of(path: Path) -> set[str]:
    """The absolute module names a source file imports (relative ones resolved)."""
    inside = path.is_relative_to(ROOT)
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1]) if inside else ""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module:
                names.add(node.module)
    return names


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "harness" and len(parts) > 1 else None


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        own = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for name in imports_of(path):
            other = layer_of(name)
            if other is not None and other != own:
                graph[own].add(other)
    return graph


PURE = sorted(p for layer in ALLOWED for p in ROOT.joinpath(layer).rglob("*.py"))


@pytest.mark.parametrize("path", PURE, ids=[str(p.relative_to(ROOT)) for p in PURE])
def test_pure_layers_import_nothing_above_them(path: Path) -> None:
    layer = path.relative_to(ROOT).parts[0]
    wrong = sorted(name for name in imports_of(path)
                   if (layer_of(name) not in ALLOWED[layer] | {layer, None})
                   or name.split(".")[0] in FORBIDDEN_OUTSIDE)
    assert not wrong, f"{path.relative_to(ROOT)} imports {wrong}"


def cycles_in(graph: dict[str, set[str]]) -> list[str]:
    """Every cycle of the package graph, as "a -> b -> a"."""
    found: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in trail:
                found.add(" -> ".join([*trail[trail.index(nxt):], nxt]))
            else:
                visit(nxt, [*trail, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return sorted(found)


def test_no_import_cycle_between_packages() -> None:
    cycles = cycles_in(package_graph())
    assert not cycles, "import cycles between packages of harness/:\n" + "\n".join(cycles)


def test_the_rules_can_fail(tmp_path: Path) -> None:
    """A check importing a scenario or asyncio is seen, and so is a cycle."""
    source = tmp_path / "x.py"
    source.write_text("from harness.scenarios.call import basic_call\nimport asyncio\n")
    assert imports_of(source) == {"harness.scenarios.call", "asyncio"}
    assert cycles_in({"agents": {"ice"}, "ice": {"agents"}, "sip": set()}) == [
        "agents -> ice -> agents", "ice -> agents -> ice"]



def test_every_package_has_an_init() -> None:
    """A folder of modules without ``__init__.py`` would be left out of an installed (not
    editable) copy of the package: setuptools finds only regular packages."""
    missing = sorted(str(d.relative_to(ROOT)) for d in ROOT.rglob("*")
                     if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))
                     and not (d / "__init__.py").exists())
    assert not missing, f"packages without __init__.py: {missing}"
