"""SIPp's scenarios, WAV file and statistics as the load run writes and reads them."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.load.runner import LoadPlan
from harness.load.sipp import SippStats, uac_scenario, uas_scenario, write_ulaw_wav

STATS = Path(__file__).resolve().parents[2] / "fixtures" / "load" / "sipp_uac_stat.csv"


@pytest.mark.parametrize("wav", [None, Path("/tmp/tone.wav")])
def test_scenarios_are_well_formed_and_follow_the_route_set(wav: Path | None) -> None:
    uac = ET.fromstring(uac_scenario("sip:proxy@198.18.0.22:5090", 1500, wav))
    steps = [(el.tag, el.get("request") or el.get("response")) for el in uac]
    assert steps[0][0] == "send" and ("recv", "200") in steps
    ok = next(el for el in uac if el.tag == "recv" and el.get("response") == "200")
    assert ok.get("rrs") == "true"  # the route set is kept for ACK and BYE
    ack, bye = (el.text or "" for el in uac if el.tag == "send" and el.text and
                el.text.strip().startswith(("ACK", "BYE")))
    assert "[routes]" in ack and "[next_url]" in ack and "[routes]" in bye
    assert uac.find("pause").get("milliseconds") == "1500"  # type: ignore[union-attr]
    uas = ET.fromstring(uas_scenario(wav))
    assert "[last_Record-Route:]" in (uas[1].text or "")
    streams = [el for el in (*uac.iter("exec"), *uas.iter("exec"))]
    assert len(streams) == (0 if wav is None else 2)
    if wav is not None:
        assert streams[0].get("rtp_stream") == f"{wav},-1,0"


def test_wav_is_ulaw_8khz_mono(tmp_path: Path) -> None:
    data = write_ulaw_wav(tmp_path / "t.wav", seconds=0.5).read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    fmt, channels, rate = struct.unpack_from("<HHI", data, 20)
    assert (fmt, channels, rate) == (7, 1, 8000)
    assert data.index(b"data") > 0 and len(data) > 4000


def test_stats_from_a_real_sipp_file() -> None:
    stats = SippStats.parse(STATS.read_text())
    assert (stats.created, stats.successful, stats.failed) == (3, 3, 0)
    assert stats.failures == {}


def test_stats_count_failures_by_kind() -> None:
    lines = STATS.read_text().splitlines()
    names, values = lines[0].split(";"), lines[-1].split(";")
    values[names.index("FailedCall(C)")] = "2"
    values[names.index("FailedMaxUDPRetrans(C)")] = "2"
    stats = SippStats.parse("\n".join([lines[0], ";".join(values)]))
    assert stats.failed == 2 and stats.failures == {"MaxUDPRetrans": 2}


@pytest.mark.parametrize("text", ["", "A;B;\n", "TotalCallCreated;\nlots;\n"])
def test_stats_that_are_not_sipps_are_a_clear_error(text: str) -> None:
    with pytest.raises(HarnessError, match="SIPp's statistics"):
        SippStats.parse(text)


@pytest.mark.parametrize("bad", [dict(rate=0), dict(calls=0), dict(hold_s=-1),
                                 dict(max_concurrent=0), dict(samples=-1)])
def test_load_plan_refuses_unbounded_or_silly_values(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LoadPlan(**bad)  # type: ignore[arg-type]


def test_time_limit_is_the_plan_with_a_margin_never_over_the_cap() -> None:
    assert LoadPlan(rate=10, calls=100, hold_s=2).time_limit_s == 22
    assert LoadPlan(rate=1, calls=10_000, max_seconds=60).time_limit_s == 60
