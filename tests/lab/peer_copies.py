"""Copies of the default target with one thing changed: the self-tests' violating targets.

Imported by the lab tests as a plain module (pytest puts this folder on sys.path).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from harness.lab import Lab, default_topology
from harness.targets.process import ProcessTarget
from harness.targets.spec import load_target

DEFAULT_PEER = Path(__file__).resolve().parents[2] / "peers" / "kamailio-rtpengine"


def copy_default_peer(tmp_path: Path) -> Path:
    """A copy of peers/kamailio-rtpengine under `tmp_path`, to be changed by the test."""
    peer = tmp_path / "peer"
    shutil.copytree(DEFAULT_PEER, peer)
    return peer


def with_define(tmp_path: Path, name: str, value: str) -> Path:
    """A copy of the default target whose kamailio.cfg defines `name` as `value`."""
    peer = copy_default_peer(tmp_path)
    cfg = peer / "kamailio.cfg"
    text = cfg.read_text()
    start = text.index(f'#!define {name} "')
    end = text.index("\n", start)
    cfg.write_text(f'{text[:start]}#!define {name} "{value}"{text[end:]}')
    return peer


@asynccontextmanager
async def started(peer: Path, tmp_path: Path) -> AsyncIterator[tuple[Lab, ProcessTarget]]:
    """The target in `peer`, started in a lab of its own; stopped and torn down after."""
    with Lab(default_topology()) as lab:
        target = ProcessTarget(load_target(peer), lab, tmp_path / "run")
        await target.start()
        try:
            yield lab, target
        finally:
            await target.stop()
