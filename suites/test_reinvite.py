"""Re-INVITE: hold and resume, codec and address changes, and the offerless re-INVITE, in
every media mode (design card; seed 001 for how each mode must carry them).

Each case sets up a call, lets media flow both ways, then the caller sends the
re-INVITEs in turn; after each one both agents send (or fall silent) as the SDP
they now hold says. Judged per phase from what each agent received at which port
from which address, and, for bypass, from the capture.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from harness.conformance import case
from harness.conformance import reinvite_checks as rc
from harness.conformance.findings import Finding
from harness.evidence.call import CallOutcome, Reinvite
from harness.evidence.preconditions import ANSWERED
from harness.media.modes import MediaMode
from harness.pytest_plugin.calls import MediaCall
from harness.pytest_plugin.verdicts import Judge

REF = "RFC 3261 §14 (modifying a session); RFC 3264 §8 (modifying the session)"
HOLD = (Reinvite.HOLD, Reinvite.INACTIVE, Reinvite.RESUME)
CHANGE = (Reinvite.CODEC, Reinvite.ADDRESS)
OFFERLESS = (Reinvite.OFFERLESS,)

HOLD_EXPECTATION = (
    "The caller re-INVITEs with a=sendonly, then a=inactive, then a=sendrecv. Each "
    "direction reaches the callee unchanged and the callee's answer (recvonly, inactive, "
    "sendrecv) reaches the caller; on hold only the caller's media flows, when inactive "
    "nothing flows, after the resume both ways again.")
CHANGE_EXPECTATION = (
    "The caller re-offers only the other G.711 codec: both sides then receive the new "
    "codec and hear each other. The caller re-offers from a new port and the callee answers "
    "from a new port: media then arrives at the new ports only, from the addresses the SDP "
    "names.")
OFFERLESS_EXPECTATION = (
    "The caller re-INVITEs without SDP; the callee offers in the 200 from a new port and the "
    "caller answers in the ACK. The offer reaches the caller, the answer reaches the callee, "
    "and media flows both ways at the new addresses.")


def _case(
    requirement: str, mode: MediaMode, steps: tuple[Reinvite, ...],
    check: Callable[[CallOutcome], Finding], title: str, expectation: str,
) -> Callable[[MediaCall, Judge], Awaitable[None]]:
    async def test(media_call: MediaCall, judge: Judge) -> None:
        judge(check(await media_call(mode, reinvites=steps)))

    name = f"test_{requirement.lower().replace('-', '_')}_{mode.value}"
    test.__name__ = test.__qualname__ = name
    return case(requirement, title=f"{mode.value.capitalize()}: {title}", reference=REF,
                expectation=expectation, mode=mode, needs=(ANSWERED,))(test)


for _mode in MediaMode:
    for _test in (
        _case("SIP-REINV-1", _mode, HOLD, rc.hold_resume, "hold and resume by re-INVITE",
              HOLD_EXPECTATION),
        _case("SIP-REINV-2", _mode, CHANGE, rc.media_changed,
              "a re-INVITE changes the codec, then the media addresses", CHANGE_EXPECTATION),
        _case("SIP-REINV-3", _mode, OFFERLESS, rc.offerless_reinvite,
              "a re-INVITE without SDP (offer in the 200, answer in the ACK)",
              OFFERLESS_EXPECTATION),
    ):
        globals()[_test.__name__] = _test
del _mode, _test


@case("MM-BYPASS-3", title="Bypass: a re-INVITE's new addresses pass end to end",
      reference=REF + "; seed 001 (bypass: the SDP passes untouched)",
      expectation="Both endpoints move to new ports by a re-INVITE: the new c=/m= reach the "
      "far end unchanged, and media flows directly between the new ports, never through "
      "the target.", mode=MediaMode.BYPASS, needs=(ANSWERED,))
async def test_bypass_reinvite_moves_media(media_call: MediaCall, judge: Judge) -> None:
    judge(rc.bypass_reinvite(await media_call(MediaMode.BYPASS,
                                                reinvites=(Reinvite.ADDRESS,))))
