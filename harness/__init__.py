"""sbc-harness: conformance test harness for SIP/SDP/ICE peers."""

__version__ = "0.1.0"
