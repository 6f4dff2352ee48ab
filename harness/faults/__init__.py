"""Fault-injecting middleboxes for the self-tests: a SIP relay that damages one thing on
purpose (`shim`) and a media relay in the path of the STUN and RTP (`media_relay`), so
that each check can be shown to FAIL where no setting of the target breaks it."""
