"""Teams Direct Routing calls with media bypass (seed 003): the target as ICE-Lite.

``parties`` (the two user agents of a call, what a case may vary, reading the SRTP key out
of SDP), ``inbound`` (the call toward
Teams), ``outbound`` (the call from Teams), ``forked`` (toward several Teams devices),
``paths`` (from Teams with two candidates and early media), ``captured`` (what a case
places, under a capture).
"""

from harness.scenarios.teams.captured import captured_to_teams_call, plan_teams_call
from harness.scenarios.teams.inbound import to_teams_call
from harness.scenarios.teams.outbound import from_teams_call
from harness.scenarios.teams.parties import DrKnobs

__all__ = [
    "DrKnobs", "captured_to_teams_call", "from_teams_call", "plan_teams_call", "to_teams_call",
]
