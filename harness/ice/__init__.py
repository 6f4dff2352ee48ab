"""ICE for the Teams Direct Routing profile: STUN messages (``stun``) and a full,
controlling ICE agent that checks and nominates against an ICE-Lite target (``agent``)."""
