"""Media codecs: RTP/RTCP headers (`rtp`), G.711 and tone detection (`g711`), RFC 4733
telephone events (`dtmf`), SRTP through pylibsrtp (`srtp`) and receive statistics (`stats`).
All pure except `srtp`, which wraps libsrtp."""
