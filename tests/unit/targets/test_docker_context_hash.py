"""The Docker build context hash and the host's apt sources: no engine needed."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.targets.docker_image import AptSources, context_hash, host_apt_sources, target_tag

PEER = Path(__file__).resolve().parents[3] / "peers" / "kamailio-rtpengine"


def _context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / "conf").mkdir(parents=True)
    (ctx / "Dockerfile").write_text("ARG BASE=debian:bookworm-slim\nFROM ${BASE}\n")
    (ctx / "conf" / "a.cfg").write_text("listen=udp:1.2.3.4\n")
    return ctx


def test_hash_is_stable_and_short(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    first = context_hash(ctx)
    assert len(first) == 12 and int(first, 16) >= 0
    assert context_hash(ctx) == first
    # The same files elsewhere give the same hash: only relative paths count.
    shutil.copytree(ctx, tmp_path / "copy")
    assert context_hash(tmp_path / "copy") == first


def test_hash_changes_with_any_file(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    seen = {context_hash(ctx)}
    (ctx / "conf" / "a.cfg").write_text("listen=udp:1.2.3.5\n")
    seen.add(context_hash(ctx))
    (ctx / "conf" / "b.cfg").write_text("")
    seen.add(context_hash(ctx))
    (ctx / "conf" / "b.cfg").rename(ctx / "conf" / "c.cfg")
    seen.add(context_hash(ctx))
    (ctx / "conf" / "c.cfg").chmod(0o755)
    seen.add(context_hash(ctx))
    seen.add(context_hash(ctx, dockerfile="Dockerfile.other"))
    assert len(seen) == 6


def test_pycache_and_git_do_not_count(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    before = context_hash(ctx)
    for junk in ("__pycache__", ".git", "conf/__pycache__"):
        (ctx / junk).mkdir()
        (ctx / junk / "x.pyc").write_bytes(b"\0\1")
    assert context_hash(ctx) == before


def test_changed_kamailio_cfg_gives_a_new_tag(tmp_path: Path) -> None:
    copy = tmp_path / "kamailio-rtpengine"
    shutil.copytree(PEER, copy, ignore=shutil.ignore_patterns("__pycache__"))
    tag = target_tag("kamailio-rtpengine", copy)
    assert tag == target_tag("kamailio-rtpengine", PEER)
    assert tag.startswith("sbc-harness/kamailio-rtpengine:")
    cfg = copy / "kamailio.cfg"
    cfg.write_text(cfg.read_text() + "\n# changed\n")
    assert target_tag("kamailio-rtpengine", copy) != tag


def test_tag_is_a_valid_reference(tmp_path: Path) -> None:
    tag = target_tag("My Target_1", _context(tmp_path))
    assert tag.startswith("sbc-harness/my-target_1:")


def test_mirror_from_deb822_and_one_line_sources(tmp_path: Path) -> None:
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian/\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main contrib\n"
    )
    (d / "other.sources").write_text(
        "Types: deb\nURIs: http://other.example/x\nSuites: foo\nComponents: extra\n"
    )
    assert host_apt_sources(tmp_path / "none", d) == AptSources(
        "http://mirror.example/debian", "http://mirror.example/debian-security"
    )
    one_line = tmp_path / "sources.list"
    one_line.write_text("deb-src http://src.example/debian bookworm main\n"
                        "deb [arch=amd64] http://one.example/debian bookworm main contrib\n")
    assert host_apt_sources(one_line, d).mirror == "http://one.example/debian"


def test_no_sources_means_deb_debian_org(tmp_path: Path) -> None:
    sources = host_apt_sources(tmp_path / "none", tmp_path / "none.d")
    assert sources == AptSources("http://deb.debian.org/debian",
                                 "http://deb.debian.org/debian-security")
