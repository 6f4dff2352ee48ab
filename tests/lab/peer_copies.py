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


def _replace_once(text: str, old: str, new: str, where: str) -> str:
    """`text` with its one `old` replaced; a default target that changed says so."""
    if text.count(old) != 1:
        raise AssertionError(f"{where}: expected {old!r} exactly once, found it "
                             f"{text.count(old)} time(s): the default target changed")
    return text.replace(old, new)


def with_runtime_error(tmp_path: Path) -> Path:
    """A copy of the default target whose kamailio.cfg calls msg_apply_changes() right
    after record_route() on every INVITE (issue 14's incident): Kamailio refuses, logs
    "cannot apply msg changes after adding record-route header" on every call, and goes
    on routing as if the script had worked, so every call still succeeds."""
    peer = copy_default_peer(tmp_path)
    cfg = peer / "kamailio.cfg"
    text = cfg.read_text()
    text = _replace_once(text, 'loadmodule "textops.so"\n',
                         'loadmodule "textops.so"\nloadmodule "textopsx.so"\n', str(cfg))
    text = _replace_once(text, "\trecord_route();\n\troute(FORK);\n",
                         "\trecord_route();\n\tmsg_apply_changes();\n\troute(FORK);\n", str(cfg))
    cfg.write_text(text)
    return peer


def without_early_media(tmp_path: Path) -> Path:
    """A copy of the default target that lets no early media through at all: it drops every
    183 on its way to the caller (SIP-EARLY-1 violated; the cases that need a 183 for
    something else can only be INCONCLUSIVE)."""
    peer = copy_default_peer(tmp_path)
    cfg = peer / "kamailio.cfg"
    text = cfg.read_text()
    head = "onreply_route[REPLY] {\n"
    assert head in text, "the default target's kamailio.cfg has no onreply_route[REPLY]"
    cfg.write_text(text.replace(head, head + "\tif ($rs == 183) {\n\t\tdrop;\n\t}\n", 1))
    return peer


def default_define(name: str) -> str:
    """The value the default target's kamailio.cfg gives `name` (unquoted), to make a
    copy that changes only part of it."""
    text = (DEFAULT_PEER / "kamailio.cfg").read_text()
    start = text.index(f"#!define {name} ") + len(f"#!define {name} ")
    return text[start:text.index("\n", start)].strip().strip('"')


# The SDES settings toward Teams that real SBCs get wrong (issue 14): the default target's
# offer flags with only AES_CM_128_HMAC_SHA1_32 left (its _80 excluded instead), and
# with rtpengine's SDES-unencrypted_srtp, which puts RFC 4568's UNENCRYPTED_SRTP session
# parameter on its a=crypto line toward Teams.
TEAMS_OFFER_ONLY_32 = default_define("TEAMS_SIDE_OFFER_FLAGS").replace(
    "SDES-no-AES_CM_128_HMAC_SHA1_32", "SDES-no-AES_CM_128_HMAC_SHA1_80")
TEAMS_OFFER_UNENCRYPTED = default_define("TEAMS_SIDE_OFFER_FLAGS") + " SDES-unencrypted_srtp"
