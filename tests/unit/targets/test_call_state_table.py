"""The target file's ``[call_state]`` (D35): how the harness reads the calls a target
holds. The default target declares its ng socket; a file without the table is probed;
a bad table is refused with the key, the line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import TargetFileError
from harness.targets.spec import CallState, load_target

DEFAULT = Path(__file__).resolve().parents[3] / "peers" / "kamailio-rtpengine"
HEAD = '[target]\nname = "x"\n'


def _load(tmp_path: Path, table: str) -> CallState:
    path = tmp_path / "target.toml"
    path.write_text(HEAD + table)
    return load_target(path).spec.call_state


def test_the_default_target_declares_its_ng_socket() -> None:
    state = load_target(DEFAULT).spec.call_state
    assert state.ng == "127.0.0.1:2223" and state.command is None
    assert state.declared and state.grace == 1.0


def test_without_the_table_the_target_is_probed(tmp_path: Path) -> None:
    state = _load(tmp_path, "")
    assert not state.declared and state.guard_call and state.grace == 1.0


def test_a_command_and_its_pattern(tmp_path: Path) -> None:
    state = _load(tmp_path, '[call_state]\ncommand = ["kamcmd", "dlg.stats_active"]\n'
                            'pattern = "all: (\\\\d+)"\ngrace = 0.5\n')
    assert state.command == ["kamcmd", "dlg.stats_active"]
    assert state.pattern == r"all: (\d+)" and state.grace == 0.5 and state.declared


def test_the_guard_call_can_be_turned_off(tmp_path: Path) -> None:
    assert not _load(tmp_path, "[call_state]\nguard_call = false\n").guard_call


@pytest.mark.parametrize(("table", "words"), [
    ('ng = "127.0.0.1:2223"\ncommand = ["x"]\n', "give 'ng' or 'command', not both"),
    ('ng = "127.0.0.1"\n', "is not host:port"),
    ('ng = "127.0.0.1:70000"\n', "is not host:port"),
    ("command = []\n", "call_state.command"),
    ('command = ["echo", "{nope}"]\n', "unknown placeholder(s) nope"),
    ('command = ["awk", "{print $1}"]\n', "write a literal brace twice"),
    ('command = ["x"]\npattern = "\\\\d+"\n', "has no group"),
    ('command = ["x"]\npattern = "(\\\\d+"\n', "is not a regular expression"),
    ("grace = -1\n", "call_state.grace"),
    ("grace = 31\n", "call_state.grace"),
    ('colour = "blue"\n', "call_state.colour: Extra inputs"),
])
def test_a_bad_table_names_key_line_and_what(tmp_path: Path, table: str, words: str) -> None:
    with pytest.raises(TargetFileError) as err:
        _load(tmp_path, "[call_state]\n" + table)
    assert words in str(err.value)
    assert err.value.line is not None and err.value.line >= 3  # in the table, not line 1


def test_placeholders_of_a_command_and_doubled_braces(tmp_path: Path) -> None:
    state = _load(tmp_path, '[call_state]\ncommand = ["tool", "{address}", "{peer_dir}", '
                            '"{{literal}}"]\n')
    assert state.command == ["tool", "{address}", "{peer_dir}", "{{literal}}"]
