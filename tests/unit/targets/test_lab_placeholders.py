"""Every lab host's address reaches a target's configuration: ``{hosts[<name>]}`` in a
program's command, ``SBC_HOST_<NAME>`` in a container's environment; an unknown
placeholder is an error in words, naming the file and what is known."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import TargetStartError
from harness.lab import Lab, default_topology
from harness.targets.base import host_variables, lab_addresses
from harness.targets.process import ProcessTarget
from harness.targets.spec import load_target

DEFAULT = Path(__file__).resolve().parents[3] / "peers" / "kamailio-rtpengine"


@pytest.fixture
def target(tmp_path: Path) -> ProcessTarget:
    # A Lab not entered: nothing is created, its address plan is all there is.
    return ProcessTarget(load_target(DEFAULT), Lab(default_topology()), tmp_path / "run")


def test_every_lab_host_is_a_placeholder(target: ProcessTarget) -> None:
    hosts = lab_addresses(target.lab)
    assert {"caller", "callee1", "sbc"} <= set(hosts)
    assert target._expand("--peer={hosts[callee1]}:5060") == f"--peer={hosts['callee1']}:5060"
    assert target._expand("{address}") == hosts["sbc"]
    assert host_variables(target.lab)["SBC_HOST_CALLEE1"] == hosts["callee1"]


@pytest.mark.parametrize("arg", ["{adress}", "{hosts[nobody]}", "{address"])
def test_an_unknown_placeholder_is_named_with_what_is_known(target: ProcessTarget,
                                                            arg: str) -> None:
    with pytest.raises(TargetStartError) as err:
        target._expand(arg)
    words = str(err.value)
    assert str(DEFAULT / "target.toml") in words and repr(arg) in words
    assert "{hosts[<lab host>]} for sbc, " in words and "callee1" in words
