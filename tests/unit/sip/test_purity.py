"""The protocol cores are sans-IO: no module in harness/sip or harness/sdp imports
socket, asyncio, time, threading or select (checked on the source with ``ast``:
the stdlib itself may import them indirectly, which is not our business)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3] / "harness"
FORBIDDEN = {"socket", "asyncio", "time", "threading", "select"}
MODULES = sorted([*ROOT.joinpath("sip").rglob("*.py"), *ROOT.joinpath("sdp").rglob("*.py")])


def imported_modules(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "__import__", "import_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def forbidden_in(source: str) -> set[str]:
    return {n for n in imported_modules(source) if n.split(".")[0] in FORBIDDEN}


def test_modules_found() -> None:
    assert ROOT.joinpath("sip", "endpoint.py") in MODULES


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_no_io_imports(path: Path) -> None:
    assert forbidden_in(path.read_text(encoding="utf-8")) == set()


def test_checker_catches_imports() -> None:
    source = (
        "import os, socket\nfrom asyncio import sleep\nimport time as t\n"
        "from threading import Lock\nimport select.epoll\n__import__('socket')\n"
        "from . import time\n"
    )
    assert forbidden_in(source) == {
        "socket", "asyncio", "asyncio.sleep", "time", "threading", "threading.Lock", "select.epoll"}
