"""Error patterns over a target's log lines (`matching_lines`), the default target's
patterns over lines its programs really wrote, and a bad pattern in the target file as a
`TargetFileError` naming the file, the field and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import TargetFileError
from harness.targets.base import matching_lines
from harness.targets.spec import load_target

DEFAULT = Path(__file__).resolve().parents[3] / "peers" / "kamailio-rtpengine" / "target.toml"

# Lines the default target's programs wrote in real runs (Kamailio 5.6 with -E, rtpengine
# 10.5 with --log-stderr): the errors first, then lines that are not errors. The first is
# issue 14's incident (tests/lab/test_target_log.py provokes it).
KAMAILIO_ERROR = (" 1(10797) ERROR: {1 1 INVITE d9c72d1e16a2025c1daf4dec@198.18.0.10} <core> "
                  "[core/msg_translator.c:3362]: sip_msg_apply_changes(): cannot apply msg "
                  "changes after adding record-route header - it breaks conditional 2nd header")
# Of the same form, not seen in a run: a worse level.
KAMAILIO_CRITICAL = (" 1(6534) CRITICAL: <core> [core/mem/q_malloc.c:512]: qm_free(): BUG: "
                     "freeing already freed pointer")
RTPENGINE_ERROR = ("[1796693596.621026] ERR: [354a69786b41fa547351dd7c@198.18.0.10 port "
                   "30846]: [core] SRTP output wanted, but no crypto suite was negotiated")
KAMAILIO_QUIET = [
    " 0(6533) INFO: pv [pv_shv.c:60]: shvar_init_locks(): locks array size 16",
    " 0(6533) WARNING: <core> [core/cfg.y:3764]: warn_at(): warning in config file "
    "kamailio.cfg, line 175, column 7-23: constant value in if(...)",
    # Kamailio quotes a malformed message over several lines after its error line: a
    # line of the message is not an error of Kamailio's, whatever it says
    "Subject: ERROR: this line is part of a quoted message",
    "Listening on ",
]
RTPENGINE_QUIET = [
    "[1796693572.438986] INFO: [core] Startup complete, version 10.5.3.5-1+deb12u1",
    "[1796693652.732228] WARNING: [7a43@198.18.0.10 port 33079]: [core] Discarded invalid "
    "SRTP packet: authentication failed",
]


def _default_patterns() -> dict[str, list[str]]:
    spec = load_target(DEFAULT).spec
    assert spec.process is not None
    return {p.name: [*p.runtime_errors, *p.config_errors] for p in spec.process.programs}


def test_each_log_is_matched_with_its_own_patterns_and_named() -> None:
    logs = {"a": "one ERROR here\nfine\nERROR again\n", "b": "ERROR in b\n", "c": "ERROR\n"}
    found = matching_lines(logs, {"a": ["ERROR"], "b": ["^nothing$"]})
    assert found == ["a: one ERROR here", "a: ERROR again"]  # c has no patterns


def test_a_line_two_patterns_find_is_named_once() -> None:
    assert matching_lines({"k": "ERROR: bad config\n"}, {"k": ["ERROR", "bad config"]}) == [
        "k: ERROR: bad config"]


def test_nothing_written_finds_nothing() -> None:
    assert matching_lines({"k": ""}, {"k": ["ERROR"]}) == []
    assert matching_lines({}, {"k": ["ERROR"]}) == []


def test_the_default_targets_patterns_find_its_errors_at_run_time() -> None:
    logs = {"kamailio": "\n".join([*KAMAILIO_QUIET, KAMAILIO_ERROR, KAMAILIO_CRITICAL]),
            "rtpengine": "\n".join([*RTPENGINE_QUIET, RTPENGINE_ERROR])}
    assert matching_lines(logs, _default_patterns()) == [
        f"kamailio: {KAMAILIO_ERROR}", f"kamailio: {KAMAILIO_CRITICAL}",
        f"rtpengine: {RTPENGINE_ERROR}"]


def test_the_default_targets_patterns_pass_what_a_normal_run_logs() -> None:
    logs = {"kamailio": "\n".join(KAMAILIO_QUIET), "rtpengine": "\n".join(RTPENGINE_QUIET)}
    assert matching_lines(logs, _default_patterns()) == []


def test_the_docker_backend_has_both_programs_patterns() -> None:
    spec = load_target(DEFAULT).spec
    assert spec.docker is not None
    logs = {"container": "\n".join([*KAMAILIO_QUIET, KAMAILIO_ERROR, *RTPENGINE_QUIET,
                                    RTPENGINE_ERROR])}
    found = matching_lines(logs, {"container": spec.docker.runtime_errors})
    assert found == [f"container: {KAMAILIO_ERROR}", f"container: {RTPENGINE_ERROR}"]


MINIMAL = """\
[target]
name = "x"

[[process.programs]]
name = "sbc"
command = ["sbc"]
config_errors = []
runtime_errors = []

[docker]
image = "sbc:1"
config_errors = []
runtime_errors = []
"""


@pytest.mark.parametrize("where, table, field", [
    ("process.programs.0", "[[process.programs]]", "config_errors"),
    ("process.programs.0", "[[process.programs]]", "runtime_errors"),
    ("docker", "[docker]", "config_errors"),
    ("docker", "[docker]", "runtime_errors"),
])
def test_a_bad_pattern_names_the_file_the_field_and_the_line(
    tmp_path: Path, where: str, table: str, field: str
) -> None:
    lines = MINIMAL.splitlines()
    line = lines.index(f"{field} = []", lines.index(table)) + 1
    lines[line - 1] = f"{field} = ['^ok$', '(unclosed']"
    path = tmp_path / "target.toml"
    path.write_text("\n".join(lines))
    with pytest.raises(TargetFileError) as err:
        load_target(path)
    assert str(err.value).startswith(f"{path}:{line}: {where}.{field}: ")
    assert "bad regular expression '(unclosed'" in str(err.value)


def test_the_minimal_file_itself_loads(tmp_path: Path) -> None:
    path = tmp_path / "target.toml"
    path.write_text(MINIMAL)
    spec = load_target(path).spec
    assert spec.process is not None and spec.process.programs[0].runtime_errors == []
