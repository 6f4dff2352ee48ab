"""Copies of the default target with one thing changed: the self-tests' violating targets.

Imported by the lab tests as a plain module (pytest puts this folder on sys.path).
"""

from __future__ import annotations

import shutil
from pathlib import Path

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
