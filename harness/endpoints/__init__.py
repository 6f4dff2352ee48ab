"""The harness's own endpoints on lab hosts: the SIP user agent (`sip`), the RTP endpoint
with its pacer (`rtp`), and the controlling ICE agent on an RTP endpoint's socket
(`ice`). Each records what it sent and received as `harness.evidence.records`."""
