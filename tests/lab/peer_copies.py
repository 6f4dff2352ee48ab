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

# Earlier, wrong settings of the default target (docs/decisions.md), kept as violating
# configurations for the self-tests.
OLD_ANCHOR_OFFER_FLAGS = (  # D12: codec-mask=all masked telephone-event too
    "replace-origin replace-session-connection ICE=remove RTP/AVP codec-mask=all "
    "codec-transcode=PCMA codec-transcode=PCMU"
)
SDES_NO_BUT_80 = " ".join(f"SDES-no-{suite}" for suite in (
    "AEAD_AES_256_GCM", "AEAD_AES_128_GCM", "AES_256_CM_HMAC_SHA1_80",
    "AES_256_CM_HMAC_SHA1_32", "AES_192_CM_HMAC_SHA1_80", "AES_192_CM_HMAC_SHA1_32",
    "AES_CM_128_HMAC_SHA1_32", "F8_128_HMAC_SHA1_80", "F8_128_HMAC_SHA1_32",
    "NULL_HMAC_SHA1_80", "NULL_HMAC_SHA1_32"))
OLD_PROXY_FLAGS = (  # D11: a fixed SDES-no list also strips those suites when offered
    "replace-origin replace-session-connection ICE=remove DTLS=off " + SDES_NO_BUT_80
)


def copy_default_peer(tmp_path: Path) -> Path:
    """A copy of peers/kamailio-rtpengine under `tmp_path`, to be changed by the test."""
    peer = tmp_path / "peer"
    shutil.copytree(DEFAULT_PEER, peer)
    return peer


def with_define(tmp_path: Path, **defines: str) -> Path:
    """A copy of the default target whose kamailio.cfg defines each name as its value."""
    peer = copy_default_peer(tmp_path)
    cfg = peer / "kamailio.cfg"
    text = cfg.read_text()
    for name, value in defines.items():
        start = text.index(f"#!define {name} ")
        end = text.index("\n", start)
        quoted = text[start:end].endswith('"')  # a number stays unquoted
        new = f'"{value}"' if quoted else value
        text = f"{text[:start]}#!define {name} {new}{text[end:]}"
    cfg.write_text(text)
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
