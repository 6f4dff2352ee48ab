"""target.toml: the default target loads; bad files give file:line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import TargetFileError
from harness.media.modes import MediaMode
from harness.targets.spec import load_target

DEFAULT = Path(__file__).resolve().parents[3] / "peers" / "kamailio-rtpengine" / "target.toml"


def test_default_target_loads() -> None:
    loaded = load_target(DEFAULT.parent)
    spec = loaded.spec
    assert spec.target.name == "kamailio-rtpengine"
    assert set(spec.capabilities.media_modes) == set(MediaMode)
    assert spec.request_uri(MediaMode.PROXY, "198.18.0.21", 5062) == "sip:proxy@198.18.0.21:5062"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "target.toml"
    path.write_text(text)
    return path


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '[target]\nname = "x"\n[signalling\nport = 1\n')
    with pytest.raises(TargetFileError) as err:
        load_target(path)
    assert err.value.line == 3
    assert f"{path}:3: not valid TOML" in str(err.value)


def test_out_of_range_port_names_key_and_line(tmp_path: Path) -> None:
    text = DEFAULT.read_text().replace("port = 5060", "port = 99999")
    path = _write(tmp_path, text)
    with pytest.raises(TargetFileError) as err:
        load_target(path)
    expected_line = text.splitlines().index("port = 99999") + 1
    assert err.value.line == expected_line
    assert "signalling.port" in str(err.value)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, '[target]\nname = "x"\ncolour = "blue"\n')
    with pytest.raises(TargetFileError, match=r"target\.colour: Extra inputs"):
        load_target(path)


def test_unknown_media_mode(tmp_path: Path) -> None:
    path = _write(tmp_path, '[target]\nname = "x"\n[capabilities]\nmedia_modes = ["teleport"]\n')
    with pytest.raises(TargetFileError, match=r":4: capabilities\.media_modes\.0"):
        load_target(path)


def test_claimed_mode_without_dial_plan(tmp_path: Path) -> None:
    path = _write(tmp_path, '[target]\nname = "x"\n[capabilities]\nmedia_modes = ["proxy"]\n')
    with pytest.raises(TargetFileError, match=r"no \[modes\.proxy\] table"):
        load_target(path)


def test_bad_placeholder(tmp_path: Path) -> None:
    path = _write(
        tmp_path, '[target]\nname = "x"\n[modes.proxy]\nrequest_uri = "sip:{callee}@x"\n'
    )
    with pytest.raises(TargetFileError, match=r"unknown placeholder\(s\) callee"):
        load_target(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TargetFileError, match="no such target file"):
        load_target(tmp_path / "nope.toml")


def test_a_known_deviation_must_name_the_findings_it_expects(tmp_path: Path) -> None:
    text = DEFAULT.read_text().replace(
        'findings = ["^nat_audio: ONE-WAY audio: caller -> natted: "]\n', "")
    path = _write(tmp_path, text)
    with pytest.raises(TargetFileError) as err:
        load_target(path)
    assert "known_deviations" in str(err.value) and "findings" in str(err.value)


def test_a_known_deviation_with_a_bad_pattern_names_it(tmp_path: Path) -> None:
    text = DEFAULT.read_text().replace(
        'findings = ["^nat_audio: ONE-WAY audio: caller -> natted: "]',
        'findings = ["^nat_audio: (ONE-WAY"]')
    path = _write(tmp_path, text)
    with pytest.raises(TargetFileError) as err:
        load_target(path)
    assert "'^nat_audio: (ONE-WAY' is not a regular expression" in str(err.value)


def test_each_default_deviation_names_what_the_default_target_does() -> None:
    """The default target's declarations match its findings, and only those: a finding of
    the same check for another cause is not excused (as with early media off entirely)."""
    spec = load_target(DEFAULT.parent).spec
    by_requirement = {d.requirement: d for d in spec.known_deviations}
    early = by_requirement["SIP-EARLY-1"]
    assert early.expects("early_media_separated: CROSSOVER: 50 of callee2's early packets "
                         "reached the caller from 198.18.0.2:30714")
    assert not early.expects("early_media_separated: callee2's early media never reached "
                             "the caller")
    assert not early.expects("early_dialogs_distinct: CROSSOVER")
    nat = by_requirement["MM-NAT-1"]
    assert nat.expects("nat_audio: ONE-WAY audio: caller -> natted: 10 packet(s) sent to "
                       "['198.19.2.10:48646'] went unanswered")
    assert not nat.expects("nat_audio: DEAD AIR: neither side heard the other")
