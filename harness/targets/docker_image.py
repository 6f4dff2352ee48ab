"""Target images for the Docker backend, built locally, without a registry.

A target image is built from a peer's folder (``peers/<name>/``, its build
context) and tagged ``sbc-harness/<name>:<context hash>``: a hash over every
file of the context, so an image is rebuilt exactly when something in the
folder changes, and reused otherwise. Older images of the same target are
removed after a successful build.

The base image comes from wherever it can (:func:`ensure_base_image`): the
wanted image if it is already there or can be pulled, otherwise one made here
with ``debootstrap --variant=minbase`` and ``docker import`` from the host's
Debian mirror. Builds run with host networking, so apt inside the build
reaches the same mirror the host uses.

Every image made here carries the labels ``org.sbc-harness.kind`` (``base``
or ``target``), ``org.sbc-harness.target`` (target images) and
``org.sbc-harness.context-hash``; :func:`remove_images` goes by them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests

from harness.errors import HarnessError, MissingToolError, SetupError

LABEL_PREFIX = "org.sbc-harness"
KIND_LABEL = f"{LABEL_PREFIX}.kind"
TARGET_LABEL = f"{LABEL_PREFIX}.target"
HASH_LABEL = f"{LABEL_PREFIX}.context-hash"

DEFAULT_MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
LOG_TAIL_LINES = 30
_SKIPPED_DIRS = frozenset({"__pycache__", ".git"})
_REPO_COMPONENT = re.compile(r"[^a-z0-9._-]+")

Progress = Callable[[str], None]


class ImageBuildError(HarnessError):
    """Building an image failed; carries the last lines of the build's output."""

    def __init__(self, image: str, step: str, log_tail: str = "") -> None:
        message = f"building image {image} failed at {step}"
        if log_tail:
            message += f"\n--- last lines of the build ---\n{log_tail}"
        super().__init__(message)
        self.image = image
        self.step = step
        self.log_tail = log_tail


# --- the context hash --------------------------------------------------------


def context_hash(context: Path, dockerfile: str = "Dockerfile") -> str:
    """First 12 hex digits of a sha256 over the build context's files and the Dockerfile.

    Every regular file (relative path, executable bit, bytes) and symlink (its
    target) counts, in sorted order; ``__pycache__`` and ``.git`` do not. The
    Dockerfile's name counts too, and its bytes even when it lies outside
    the context.
    """
    context = context.resolve()
    digest = hashlib.sha256()
    digest.update(f"dockerfile\0{dockerfile}\0".encode())
    files: list[tuple[str, Path]] = []
    for root, dirs, names in os.walk(context):
        dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS]
        base = Path(root)
        for name in names:
            path = base / name
            files.append((path.relative_to(context).as_posix(), path))
    for relative, path in sorted(files):
        if path.is_symlink():
            digest.update(f"link\0{relative}\0{os.readlink(path)}\0".encode())
            continue
        if not path.is_file():
            continue  # sockets, fifos: docker does not send them either
        executable = os.access(path, os.X_OK)
        digest.update(f"file\0{relative}\0{int(executable)}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    outside = (context / dockerfile).resolve()
    if not outside.is_relative_to(context) and outside.is_file():
        digest.update(b"outside-dockerfile\0" + hashlib.sha256(outside.read_bytes()).digest())
    return digest.hexdigest()[:12]


# --- the host's Debian mirror --------------------------------------------------


@dataclass(frozen=True)
class AptSources:
    """The Debian mirror (and security archive, when known) the host's apt uses."""

    mirror: str
    security: str | None


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines() + [""]:
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, ""
        elif line.startswith("#"):
            continue
        elif line[0] in " \t" and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()


def _source_entries(sources_list: Path, sources_dir: Path) -> Iterator[tuple[str, list[str]]]:
    """(URI, suites) of every enabled binary ``deb`` source, in apt's reading order."""
    paths: list[Path] = []
    if sources_list.is_file():
        paths.append(sources_list)
    if sources_dir.is_dir():
        paths += sorted(p for p in sources_dir.iterdir() if p.suffix in (".list", ".sources"))
    for path in paths:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if path.suffix == ".sources":
            for stanza in _deb822_stanzas(text):
                if "deb" not in stanza.get("types", "").split():
                    continue
                if stanza.get("enabled", "yes").lower() == "no":
                    continue
                if "main" not in stanza.get("components", "").split():
                    continue
                for uri in stanza.get("uris", "").split():
                    yield uri, stanza.get("suites", "").split()
        else:
            for line in text.splitlines():
                line = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0])
                words = line.split()
                if len(words) >= 4 and words[0] == "deb" and "main" in words[3:]:
                    yield words[1], [words[2]]


def host_apt_sources(
    sources_list: Path = Path("/etc/apt/sources.list"),
    sources_dir: Path = Path("/etc/apt/sources.list.d"),
) -> AptSources:
    """The first Debian ``main`` mirror the host's apt names (else deb.debian.org)."""
    mirror: str | None = None
    security: str | None = None
    for uri, suites in _source_entries(sources_list, sources_dir):
        if not re.match(r"(https?|file):/", uri):
            continue
        uri = uri.rstrip("/")
        if any(s.endswith("-security") or s.endswith("/updates") for s in suites):
            security = security or uri
        elif mirror is None:
            mirror = uri
    if mirror is None:
        mirror = DEFAULT_MIRROR
    if security is None and mirror == DEFAULT_MIRROR:
        security = "http://deb.debian.org/debian-security"
    return AptSources(mirror, security)


# --- the base image ------------------------------------------------------------


def _exists(client: docker.DockerClient, reference: str) -> bool:
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def ensure_base_image(
    client: docker.DockerClient,
    *,
    wanted: str = "debian:bookworm-slim",
    fallback: str = "sbc-harness/debian:bookworm-minbase",
    mirror: str | None = None,
    progress: Progress = print,
) -> str:
    """The image reference a target build should start ``FROM``.

    ``wanted`` if it is there or can be pulled; else ``fallback``, made with
    debootstrap and ``docker import`` when it does not exist yet.
    """
    if _exists(client, wanted):
        return wanted
    try:
        client.images.pull(wanted)
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        progress(f"cannot pull {wanted} ({first}); using {fallback}")
    else:
        progress(f"pulled {wanted}")
        return wanted
    if _exists(client, fallback):
        return fallback
    build_base_image(client, fallback, mirror=mirror, progress=progress)
    return fallback


# Package-by-package lines of debootstrap ("I: Retrieving zlib1g 1:1.2.13.dfsg-1");
# the milestones ("I: Unpacking required packages...") pass.
_DEBOOTSTRAP_CHATTER = re.compile(
    r"^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) (?!.*\.\.\.$)\S+( \S+)?$"
)


def build_base_image(
    client: docker.DockerClient,
    reference: str,
    *,
    mirror: str | None = None,
    progress: Progress = print,
) -> str:
    """Make ``reference`` from ``debootstrap --variant=minbase bookworm`` and import it."""
    if os.geteuid() != 0:
        raise SetupError(f"making the base image {reference} with debootstrap needs root")
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise MissingToolError("debootstrap", "debootstrap")
    if shutil.which("tar") is None:
        raise MissingToolError("tar", "tar")
    host = host_apt_sources()
    sources = AptSources(mirror.rstrip("/"), host.security) if mirror else host
    recipe = f"{SUITE} minbase {sources.mirror} {sources.security}"
    labels = {
        KIND_LABEL: "base",
        HASH_LABEL: hashlib.sha256(recipe.encode()).hexdigest()[:12],
        "org.opencontainers.image.description":
            f"Debian {SUITE} minbase from {sources.mirror} (sbc-harness, no registry)",
    }
    workdir = Path(tempfile.mkdtemp(prefix="sbc-harness-base-", dir="/var/tmp"))
    rootfs = workdir / "rootfs"
    try:
        started = time.monotonic()
        progress(f"making base image {reference}: debootstrap --variant=minbase {SUITE} "
                 f"from {sources.mirror} (about 35 s)")
        tail = _run_logged(
            [debootstrap, "--variant=minbase", SUITE, str(rootfs), sources.mirror],
            progress=lambda line: None if _DEBOOTSTRAP_CHATTER.match(line) else progress(line),
        )
        if tail is not None:
            raise ImageBuildError(reference, "debootstrap", tail)
        _unmount_under(rootfs)
        _finish_rootfs(rootfs, sources)
        bootstrapped = time.monotonic()
        progress(f"debootstrap done in {bootstrapped - started:.1f} s; importing")
        _import_rootfs(client, rootfs, reference, labels)
        progress(f"base image {reference} made in {time.monotonic() - started:.1f} s "
                 f"(import {time.monotonic() - bootstrapped:.1f} s)")
    finally:
        _remove_tree(workdir)
    return reference


def _run_logged(command: list[str], *, progress: Progress) -> str | None:
    """Run ``command``, each output line through ``progress``; None, or the tail if it failed."""
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, errors="replace") as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            if line:
                tail.append(line)
                progress(line)
    return None if proc.returncode == 0 else "\n".join(tail)


def _finish_rootfs(rootfs: Path, sources: AptSources) -> None:
    """No resolver of ours inside, apt pointed at the mirror, no package caches."""
    (rootfs / "etc/resolv.conf").unlink(missing_ok=True)
    (rootfs / "etc/resolv.conf").write_text("")
    lines = [f"deb {sources.mirror} {SUITE} main", f"deb {sources.mirror} {SUITE}-updates main"]
    if sources.security:
        lines.append(f"deb {sources.security} {SUITE}-security main")
    (rootfs / "etc/apt/sources.list").write_text("\n".join(lines) + "\n")
    for folder in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / folder).glob("*"):
            if path.is_file() and path.name != "lock":
                path.unlink()


def _import_rootfs(
    client: docker.DockerClient, rootfs: Path, reference: str, labels: dict[str, str]
) -> None:
    repository, _, tag = reference.rpartition(":")
    if not repository or "/" in tag:
        repository, tag = reference, "latest"
    changes = [f'LABEL {key}="{value}"' for key, value in labels.items()]
    changes += ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                'CMD ["bash"]']
    with tempfile.TemporaryFile() as stderr, subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
        stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL,
    ) as tar:
        out = tar.stdout
        assert out is not None

        def chunks() -> Iterator[bytes]:
            while block := out.read(1 << 20):
                yield block

        try:
            answer = client.api.import_image_from_stream(
                chunks(), repository=repository, tag=tag, changes=changes
            )
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            tar.kill()
            raise ImageBuildError(reference, "docker import", str(exc)) from None
        tar.wait()
        stderr.seek(0)
        complaints = stderr.read().decode(errors="replace")
    if tar.returncode != 0:
        raise ImageBuildError(reference, "tar of the root file system", complaints[-4000:])
    errors = re.findall(r'"error"\s*:\s*"((?:[^"\\]|\\.)*)"', str(answer))
    if errors or not _exists(client, reference):
        raise ImageBuildError(reference, "docker import", "\n".join(errors) or str(answer)[-4000:])


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    found = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return found


def _unmount_under(path: Path) -> None:
    """Unmount whatever a failed debootstrap left mounted (/proc, /sys, /dev) below ``path``."""
    for point in sorted(_mounts_under(path), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], check=False, capture_output=True)


def _remove_tree(path: Path) -> None:
    _unmount_under(path)
    if _mounts_under(path):
        # Deleting across a bind mount would delete the host's files: leave it.
        raise HarnessError(f"{path} still has file systems mounted below it; not removing it")
    shutil.rmtree(path, ignore_errors=True)


# --- target images ---------------------------------------------------------------


def target_tag(name: str, context: Path, dockerfile: str = "Dockerfile") -> str:
    """``sbc-harness/<name>:<context hash>``, the tag a target's image carries."""
    repository = _REPO_COMPONENT.sub("-", name.lower()).strip("-._") or "target"
    return f"sbc-harness/{repository}:{context_hash(context, dockerfile)}"


def ensure_target_image(
    client: docker.DockerClient,
    *,
    name: str,
    context: Path,
    dockerfile: str = "Dockerfile",
    base_arg: str = "BASE",
    progress: Progress = print,
) -> str:
    """The image of target ``name`` built from ``context``: reused if the context is unchanged."""
    tag = target_tag(name, context, dockerfile)
    if _exists(client, tag):
        return tag
    base = ensure_base_image(client, progress=progress)
    digest = tag.rpartition(":")[2]
    labels = {KIND_LABEL: "target", TARGET_LABEL: name, HASH_LABEL: digest}
    progress(f"building {tag} from {context} (base {base})")
    started = time.monotonic()
    try:
        items = client.api.build(
            path=str(context), dockerfile=dockerfile, tag=tag, buildargs={base_arg: base},
            network_mode="host", labels=labels, rm=True, forcerm=True, decode=True,
            timeout=600,
        )
        _follow_build(items, tag, progress)
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise ImageBuildError(tag, "the build request", str(exc)) from None
    if not _exists(client, tag):
        raise ImageBuildError(tag, "the end", "the build finished but the image is not there")
    progress(f"built {tag} in {time.monotonic() - started:.1f} s")
    for removed in _remove_other_versions(client, name, digest):
        progress(f"removed the older image {removed}")
    return tag


def _follow_build(items: Iterable[dict[str, Any]], tag: str, progress: Progress) -> None:
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    step = "the start"
    for item in items:
        text = item.get("stream")
        if isinstance(text, str):
            for raw in text.splitlines():
                line = raw.strip()
                if not line:
                    continue
                if line.startswith("Step "):
                    step = line
                tail.append(line)
                progress(line)
        if "error" in item or "errorDetail" in item:
            detail = item.get("errorDetail") or {}
            message = str(item.get("error") or detail.get("message") or item)
            tail.append(message.strip())
            raise ImageBuildError(tag, f"'{step}'", "\n".join(tail))


def _remove_other_versions(client: docker.DockerClient, name: str, digest: str) -> list[str]:
    stale = client.images.list(
        filters={"label": [f"{KIND_LABEL}=target", f"{TARGET_LABEL}={name}"]}
    )
    return [done for image in stale if image.labels.get(HASH_LABEL) != digest
            for done in _remove_image(client, image)]


def _remove_image(client: docker.DockerClient, image: Any) -> list[str]:
    """Remove by each tag (so an image with several tags goes), or by id if untagged."""
    removed = []
    for ref in list(image.tags) or [image.id]:
        try:
            client.images.remove(ref)
        except docker.errors.ImageNotFound:
            continue
        except docker.errors.APIError as exc:
            if exc.status_code == 409:  # in use by a container: keep it
                continue
            raise HarnessError(f"cannot remove image {ref}: {exc.explanation or exc}") from None
        removed.append(ref)
    return removed


def remove_images(client: docker.DockerClient, *, include_base: bool = False) -> list[str]:
    """Remove the target images the harness built (and its base images if asked).

    Images still used by a container are left alone. Returns what was removed.
    """
    kinds = ["target", "base"] if include_base else ["target"]
    removed: list[str] = []
    for kind in kinds:
        for image in client.images.list(filters={"label": f"{KIND_LABEL}={kind}"}):
            removed += _remove_image(client, image)
    return removed
