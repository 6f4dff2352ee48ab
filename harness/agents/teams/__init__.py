"""Teams Direct Routing calls with media bypass (seed 003): the target as ICE-Lite.

``outcome`` (`DrOutcome`, reading ICE and SRTP out of SDP), ``inbound`` (the call toward
Teams), ``outbound`` (the call from Teams), ``forked`` (toward several Teams devices),
``paths`` (from Teams with two candidates and early media), ``captured`` (what a case
places, under a capture).
"""

from harness.agents.teams.captured import captured_to_teams_call, new_to_teams
from harness.agents.teams.inbound import to_teams_call
from harness.agents.teams.outbound import from_teams_call
from harness.agents.teams.outcome import DrKnobs, DrOutcome, Nomination, remote_ice

__all__ = [
    "DrKnobs", "DrOutcome", "Nomination", "captured_to_teams_call", "from_teams_call",
    "new_to_teams", "remote_ice", "to_teams_call",
]
