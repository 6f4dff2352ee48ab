"""Coverage-guided fuzzing (atheris + libFuzzer) of the harness's wire parsers.

The property is the one the hypothesis fuzz tests (tests/unit/fuzz) check: for any bytes a
parser returns a value or raises its own parse error (SipParseError, SdpParseError,
RtpParseError, DtmfParseError, SrtpError, CaptureError; STUN's `parse` says why in its
return value). Anything else escaping is a crash: libFuzzer stops, prints the traceback and
writes the input to the artifact directory.

Each parser runs in its own process, seeded with the fixtures (tests/fixtures), and stops
by itself after --seconds or --runs, whichever comes first. Prints, per parser: runs,
exec/s, coverage and corpus size reached, and any crash.

atheris is not a dependency of the project; install it into the venv first:
    .venv/bin/pip install atheris
    .venv/bin/python bench/fuzz_atheris.py [--seconds 60] [--runs N] [--only sip,stun]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CAPTURE = FIXTURES / "pcap" / "kamailio_rtpengine_ice_lite_call.pcap"
#: the largest input libFuzzer builds, per parser (the capture seed is ~13 kB)
MAX_LEN = {"sip": 4096, "sdp": 4096, "stun": 1024, "rtp": 1024, "srtp": 2048,
           "pcap": 32768}
TARGETS = tuple(MAX_LEN)
#: grammar words for libFuzzer's dictionary mutations (SIP and SDP)
DICTIONARY = [
    "\\x0d\\x0a", "\\x0d\\x0a\\x0d\\x0a", "SIP/2.0", "sip:", "sips:", ";branch=z9hG4bK",
    ";tag=", ";rport", ";received=", ";lr", "Via: ", "v: ", "From: ", "To: ", "Call-ID: ",
    "CSeq: ", "Contact: ", "Record-Route: ", "Route: ", "Content-Length: ", "l: ",
    "Content-Type: application/sdp", "INVITE", "ACK", "BYE", "v=0", "o=", "s=", "c=IN IP4 ",
    "c=IN IP6 ", "t=0 0", "m=audio ", "RTP/AVP", "RTP/SAVP", "a=rtpmap:", "a=fmtp:",
    "a=crypto:", "inline:", "AES_CM_128_HMAC_SHA1_80", "a=candidate:", "typ host",
    "a=ice-ufrag:", "a=rtcp:", "a=ptime:", "a=sendrecv", "|2^31", "|1:4",
]


# --- one process per parser ---------------------------------------------------------------


def _rtp_seeds(packets: list[bytes]) -> list[bytes]:
    from harness.media.dtmf import DtmfEvent
    from harness.media.rtp import RtcpPacket, RtpPacket

    dtmf = bytes(RtpPacket(payload_type=101, marker=True,
                           payload=bytes(DtmfEvent(5, end=True, duration=480)) * 2))
    padded = bytes(RtpPacket(payload=b"\xd5" * 8, padding=True, padding_size=4, csrc=[7],
                             extension=True, extension_header=b"\x10\xff\x00\x00"))
    return [*packets, dtmf, padded, bytes(RtcpPacket(200, 1, 0x42, 6))]


def seeds(target: str) -> list[bytes]:
    """The fixture inputs a parser starts from."""
    from harness.capture.classify import PacketKind, classify
    from harness.capture.pcap import load_capture

    payloads = [p.payload for p in load_capture(CAPTURE).packets]
    of = {kind: [p for p in payloads if classify(p) is kind] for kind in PacketKind}
    if target == "sip":
        return [p.read_bytes() for p in sorted((FIXTURES / "sip").glob("*.sip"))] + of[
            PacketKind.SIP]
    if target == "sdp":
        return [p.read_bytes() for p in sorted((FIXTURES / "sdp").glob("*.sdp"))]
    if target == "stun":
        return of[PacketKind.STUN] + of[PacketKind.OTHER]
    if target == "rtp":
        return _rtp_seeds(of[PacketKind.RTP])
    if target == "srtp":  # first byte: suite, MKI and RTP/RTCP (see one_input_srtp)
        return [b"\x00" + p for p in of[PacketKind.RTP]]
    return [CAPTURE.read_bytes()]


def one_input_sip(data: bytes) -> None:
    from harness.sdp import SdpParseError, SessionDescription
    from harness.sip import Request, SipParseError, SipUri, parse_message

    try:
        message = parse_message(data)
    except SipParseError:
        return
    for via in message.vias:
        via.branch, via.rport, via.sent_by  # noqa: B018
    message.from_, message.to, message.cseq, message.call_id  # noqa: B018
    message.contact, message.routes, message.record_routes  # noqa: B018
    if parse_message(bytes(message)) != message:
        raise AssertionError("a parsed message does not re-parse to itself")
    try:
        if isinstance(message, Request):
            SipUri.parse(message.uri).address()
    except SipParseError:
        pass
    try:
        if message.body:
            SessionDescription.parse(message.body)
    except SdpParseError:
        pass


def one_input_sdp(data: bytes) -> None:
    from harness.sdp import (
        PCMA,
        PCMU,
        TELEPHONE_EVENT,
        SdpParseError,
        SessionDescription,
        diff_sdp,
        effective_address,
        effective_direction,
        make_answer,
        validate_crypto,
    )

    try:
        sd = SessionDescription.parse(data)
    except SdpParseError:
        return
    if bytes(sd) != data:
        raise AssertionError("a parsed body does not serialise byte-exact")
    for index, md in enumerate(sd.media):
        for call in (md.rtpmaps, md.fmtp, md.candidates, lambda m=md: m.ptime,
                     lambda m=md: m.rtcp, lambda m=md: [validate_crypto(c) for c in m.crypto()],
                     lambda i=index: effective_address(sd, i)):
            try:
                call()
            except SdpParseError:
                pass
        effective_direction(sd, index)
    try:
        make_answer(sd, "198.18.0.20", 40000, [PCMU, PCMA, TELEPHONE_EVENT], session_id=1)
    except SdpParseError:
        pass
    if diff_sdp(sd, sd):
        raise AssertionError("a body differs from itself")


def one_input_stun(data: bytes) -> None:
    from harness.ice.stun import attribute_types, is_stun, parse

    message, error = parse(data)
    attribute_types(data), is_stun(data)  # noqa: B018
    if message is None:
        if not isinstance(error, str):
            raise AssertionError("parse gave neither a message nor a reason")
        return
    message.check_message_integrity(b"remote-password-0123456")
    repr(message)


def one_input_rtp(data: bytes) -> None:
    from harness.capture.classify import classify
    from harness.media.dtmf import DtmfEvent, DtmfParseError
    from harness.media.rtp import RtcpPacket, RtpPacket, RtpParseError

    classify(data)
    try:
        packet = RtpPacket.parse(data)
        if RtpPacket.parse(bytes(packet)) != packet:
            raise AssertionError("an RTP packet does not re-parse to itself")
        DtmfEvent.parse_all(packet.payload)
    except (RtpParseError, DtmfParseError):
        pass
    try:
        RtcpPacket.parse(data)
    except RtpParseError:
        pass


def one_input_srtp(data: bytes) -> None:
    import base64

    from harness.media.srtp import SRTP_SUITES, SrtpError, SrtpSession

    if not data:
        return
    suites = sorted(SRTP_SUITES)
    suite = suites[data[0] & 3]
    mki = (None, b"\x01", b"\x00\x00\x00\x07", None)[data[0] >> 2 & 3]
    key = bytes(range(SRTP_SUITES[suite].key_salt_len))
    if suite == "AES_CM_128_HMAC_SHA1_80" and mki is None:  # the seeds' key (frame 23)
        key = base64.b64decode("HALlVBFqBVwuVjqSZThm3a7Fk1aRbTsumi+4SnCO")
    session = SrtpSession(suite, key, "inbound", mki=mki)
    try:
        if data[0] & 0x10:
            session.unprotect_rtcp(data[1:])
        else:
            session.unprotect(data[1:])
    except SrtpError:
        pass


def one_input_pcap(data: bytes) -> None:
    from harness.capture.classify import PacketKind
    from harness.capture.flows import flows_of
    from harness.capture.pcap import parse_capture
    from harness.errors import CaptureError

    try:
        result = parse_capture(data, "fuzz.pcap", strict=len(data) % 2 == 0)
    except CaptureError:
        return
    for flow in flows_of(result.packets, frozenset(PacketKind)):
        flow.describe()


ONE_INPUT: dict[str, Callable[[bytes], None]] = {
    "sip": one_input_sip, "sdp": one_input_sdp, "stun": one_input_stun, "rtp": one_input_rtp,
    "srtp": one_input_srtp, "pcap": one_input_pcap,
}


def run_one(target: str, libfuzzer_args: list[str]) -> None:
    """In the child process: instrument the harness, aioice and pylibsrtp, then hand over
    to libFuzzer."""
    import atheris

    with atheris.instrument_imports(include=["harness", "aioice", "pylibsrtp"]):
        import aioice.stun  # noqa: F401
        import pylibsrtp  # noqa: F401

        import harness.capture.flows
        import harness.capture.pcap
        import harness.ice.stun
        import harness.media.dtmf
        import harness.media.rtp
        import harness.media.srtp
        import harness.sdp
        import harness.sip  # noqa: F401
    atheris.Setup([sys.argv[0], *libfuzzer_args], ONE_INPUT[target])
    atheris.Fuzz()


# --- the driver ---------------------------------------------------------------------------


def fuzz(target: str, seconds: int, runs: int, work: Path) -> dict[str, str]:
    corpus = work / target / "corpus"
    artifacts = work / target / "crashes"
    corpus.mkdir(parents=True)
    artifacts.mkdir()
    for n, seed in enumerate(seeds(target)):
        (corpus / f"seed-{n:03d}").write_bytes(seed)
    args = [str(corpus), f"-max_total_time={seconds}", f"-runs={runs}",
            f"-max_len={MAX_LEN[target]}", f"-artifact_prefix={artifacts}/",
            "-print_final_stats=1", "-timeout=10", "-rss_limit_mb=2048"]
    if target in ("stun", "rtp", "srtp", "pcap"):
        # binary formats: how close a length or type comparison came counts as progress
        args.append("-use_value_profile=1")
    if target in ("srtp", "pcap"):
        args.append("-len_control=0")  # long inputs from the start (buffer, record sizes)
    if target in ("sip", "sdp"):
        words = work / "grammar.dict"
        words.write_text("".join(f'"{w}"\n' for w in DICTIONARY))
        args.append(f"-dict={words}")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, __file__, "--child", target, *args],
                          capture_output=True, text=True, cwd=work, timeout=seconds * 3 + 120)
    log = proc.stderr + proc.stdout
    (work / target / "libfuzzer.log").write_text(log)

    def stat(pattern: str) -> str:
        found = re.findall(pattern, log)
        return found[-1] if found else "?"

    crash = "none"
    if proc.returncode != 0:
        where = sorted(artifacts.iterdir())
        tail = log[log.find("Uncaught Python exception"):][:1500] if "Uncaught" in log else \
            log[-1500:]
        crash = f"exit {proc.returncode}; input: {where[0] if where else '?'}\n{tail}"
    return {
        "runs": stat(r"stat::number_of_executed_units:\s*(\d+)"),
        "seconds": f"{time.monotonic() - started:.0f}",
        "exec/s": stat(r"stat::average_exec_per_sec:\s*(\d+)"),
        "cov": stat(r"cov: (\d+)"),
        "corpus": stat(r"corp: (\d+)"),
        "crash": crash,
    }


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        run_one(sys.argv[2], sys.argv[3:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="time per parser (default 60)")
    parser.add_argument("--runs", type=int, default=5_000_000,
                        help="executions per parser at most (default 5,000,000)")
    parser.add_argument("--only", default=",".join(TARGETS),
                        help=f"comma-separated parsers (default {','.join(TARGETS)})")
    parser.add_argument("--keep", action="store_true", help="keep corpora, logs and crashes")
    options = parser.parse_args()
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: .venv/bin/pip install atheris", file=sys.stderr)
        return 2
    targets = [t for t in options.only.split(",") if t]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown parser(s) {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join(TARGETS)}")
    work = Path(tempfile.mkdtemp(prefix="sbc-atheris-"))
    crashed = False
    print(f"{'parser':6} {'runs':>10} {'s':>4} {'exec/s':>8} {'cov':>6} {'corpus':>7}  crash")
    for target in targets:
        row = fuzz(target, options.seconds, options.runs, work)
        crashed |= row["crash"] != "none"
        print(f"{target:6} {row['runs']:>10} {row['seconds']:>4} {row['exec/s']:>8} "
              f"{row['cov']:>6} {row['corpus']:>7}  {row['crash']}", flush=True)
    if options.keep or crashed:
        print(f"corpora, logs and crash inputs: {work}")
    else:
        shutil.rmtree(work)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())

