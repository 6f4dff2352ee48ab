"""Captures: tcpdump runner (`tcpdump`, the only I/O here), pcap/pcapng reader (`pcap`),
payload classification (`classify`), flows (`flows`), the media-path classifier
(`mediapath`) and the SIP ladder (`ladder`)."""
