"""The Docker backend: the target runs as a container on the run's lab network.

The image is a ready one named in the target file, or is built from the
target's folder (`harness.targets.docker_image`, tagged by a hash of the
folder, so it is built only when missing). The container gets the target
host's fixed address on the run's Docker network, whose bridge the lab's
endpoint namespaces join, so the capture on that bridge sees endpoint<->target
and endpoint<->endpoint traffic alike. Readiness is probed from inside the
container's own network namespace (``/proc/<pid>/ns/net``) with the same
probes as the process backend. Logs are the container's (docker logs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import docker
import docker.errors

from harness.errors import LabError, SetupError, TargetStartError
from harness.lab import Lab
from harness.targets.base import LabHosted, host_variables, matching_lines
from harness.targets.docker_engine import RUN_LABEL
from harness.targets.ready import probe
from harness.targets.spec import DockerBackend, LoadedTarget

LOG_NAME = "container"


class DockerTarget(LabHosted):
    """A target started as a container by the harness."""

    def __init__(
        self, loaded: LoadedTarget, lab: Lab, run_dir: Path, client: docker.DockerClient,
        network: str, *, progress: Callable[[str], None] = print,
    ) -> None:
        if loaded.spec.docker is None:
            raise TargetStartError(f"{loaded.path} has no [docker] table: cannot run it in Docker")
        self.loaded = loaded
        self.docker: DockerBackend = loaded.spec.docker
        self.lab = lab
        self.run_dir = run_dir
        self.client = client
        self.network = network
        self.progress = progress
        self.host = loaded.spec.signalling.host
        self.image: str | None = None
        self.container_id: str | None = None
        self._saved_log: bytes | None = None

    async def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.image = await asyncio.to_thread(self._image)
            self.container_id = await asyncio.to_thread(self._create_and_start)
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise

    def _image(self) -> str:
        if self.docker.image is not None:
            try:
                self.client.images.get(self.docker.image)
            except docker.errors.ImageNotFound:
                try:
                    self.client.images.pull(self.docker.image)
                except docker.errors.DockerException as exc:
                    raise TargetStartError(
                        f"{self.loaded.path}: docker.image {self.docker.image!r} does not exist "
                        f"locally and cannot be pulled ({str(exc).splitlines()[0]})"
                    ) from None
            return self.docker.image
        from harness.targets.docker_image import ensure_target_image

        assert self.docker.build is not None
        context = (self.loaded.directory / self.docker.build).resolve()
        if not (context / self.docker.dockerfile).is_file():
            raise TargetStartError(
                f"{self.loaded.path}: docker.build names {context}, which has no "
                f"{self.docker.dockerfile}"
            )
        return ensure_target_image(
            self.client, name=self.loaded.spec.target.name, context=context,
            dockerfile=self.docker.dockerfile, base_arg=self.docker.base_arg,
            progress=self.progress,
        )

    def _create_and_start(self) -> str:
        api = self.client.api
        address = self.lab.address(self.host)
        binds: dict[str, Mapping[str, str]] = {}
        for mount in self.docker.mounts:
            source = (self.loaded.directory / mount.source).resolve()
            if not source.exists():
                raise TargetStartError(f"{self.loaded.path}: mount source {source} does not exist")
            binds[str(source)] = {"bind": mount.target, "mode": "ro" if mount.read_only else "rw"}
        host_config = api.create_host_config(binds=binds, network_mode=self.network)
        networking = api.create_networking_config(
            # types-docker's stub says one EndpointConfig; the API takes {network: config}.
            {self.network: api.create_endpoint_config(ipv4_address=address)}  # type: ignore[arg-type]
        )
        name = f"sbc-harness-{self.lab.prefix}-{self.loaded.spec.target.name}"
        container: dict[str, Any] = api.create_container(
            self.image, name=name, detach=True,
            labels={RUN_LABEL: self.lab.prefix, "org.sbc-harness.target":
                    self.loaded.spec.target.name},
            environment={"SBC_ADDRESS": address, **host_variables(self.lab),
                         **self.docker.environment},
            host_config=host_config, networking_config=networking,
        )
        cid = str(container["Id"])
        self.container_id = cid
        try:
            api.start(cid)
        except docker.errors.APIError as exc:
            text = str(exc)
            if "already in use" in text.lower():
                raise SetupError(
                    f"address {address} is already in use on the lab network {self.network}"
                ) from None
            raise TargetStartError(f"container {name} did not start: {text}") from None
        return cid

    def _state(self) -> dict[str, Any]:
        assert self.container_id is not None
        info: dict[str, Any] = self.client.api.inspect_container(self.container_id)
        state: dict[str, Any] = info["State"]
        return state

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.docker.ready_timeout
        pending = list(self.docker.ready)
        while True:
            state = await asyncio.to_thread(self._state)
            if not state.get("Running"):
                code = state.get("ExitCode")
                raise TargetStartError(
                    f"the target's container exited with code {code} before it became ready",
                    self.log_tail(),
                )
            self.lab.attach_provided(self.host, f"/proc/{state['Pid']}/ns/net")
            netns = self.lab.netns(self.host)
            try:
                self.lab.routes_for_provided(self.host)
                while pending and await probe(pending[0], netns,
                                              ng_address=self.docker.ready_address,
                                              sip=self.sip_address):
                    pending.pop(0)
            except LabError:
                # The container exited between the inspection and the probe, taking its
                # namespace with it: inspect again, which reports the exit code and log.
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.05)
                continue
            if not pending:
                problems = self.config_errors()
                if problems:
                    raise TargetStartError("the target reports a configuration error",
                                           "\n".join(problems))
                return
            if loop.time() > deadline:
                raise TargetStartError(
                    f"the container did not become ready ({pending[0]}) within "
                    f"{self.docker.ready_timeout:.0f} s", self.log_tail(),
                )
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.container_id is None:
            return
        cid, self.container_id = self.container_id, None
        await asyncio.to_thread(self._stop_and_remove, cid)

    def _stop_and_remove(self, cid: str) -> None:
        api = self.client.api
        try:
            api.stop(cid, timeout=int(self.docker.stop_timeout))
        except docker.errors.APIError:
            pass
        try:
            self._saved_log = api.logs(cid, stdout=True, stderr=True)
            (self.run_dir / f"{LOG_NAME}.log").write_bytes(self._saved_log)
        except (docker.errors.APIError, OSError):
            pass
        try:
            api.remove_container(cid, force=True)
        except docker.errors.NotFound:
            pass

    def _log_bytes(self) -> bytes:
        if self.container_id is None:
            return self._saved_log or b""
        try:
            data: bytes = self.client.api.logs(self.container_id, stdout=True, stderr=True)
        except docker.errors.APIError:
            return self._saved_log or b""
        return data

    def log_tail(self, lines: int = 30) -> str:
        text = self._log_bytes().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:]) or "(no log)"

    def logs(self) -> dict[str, str]:
        return self.logs_since({})

    def log_mark(self) -> dict[str, int]:
        return {LOG_NAME: len(self._log_bytes())}

    def logs_since(self, mark: dict[str, int]) -> dict[str, str]:
        return {LOG_NAME: self._log_bytes()[mark.get(LOG_NAME, 0):].decode(errors="replace")}

    def config_errors(self, mark: dict[str, int] | None = None) -> list[str]:
        return matching_lines(self.logs_since(mark or {}), {LOG_NAME: self.docker.config_errors})

    def log_errors(self, mark: dict[str, int] | None = None) -> list[str]:
        patterns = [*self.docker.runtime_errors, *self.docker.config_errors]
        return matching_lines(self.logs_since(mark or {}), {LOG_NAME: patterns})
