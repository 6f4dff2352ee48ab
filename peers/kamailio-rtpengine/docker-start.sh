#!/bin/sh
# Container entry point of the default target: rtpengine, then Kamailio, both
# in the foreground logging to stderr (docker logs), with the same flags as
# the process backend in target.toml. SIGTERM/SIGINT go on to both daemons,
# so `docker stop` returns at once instead of waiting to SIGKILL. When either
# daemon exits, the other is stopped and the container exits with the first
# one's status.
#
# The address: $SBC_ADDRESS (the harness sets it), else the first address of
# `hostname -i` (the container's address on its network).
set -u

ADDR=${SBC_ADDRESS:-}
if [ -z "$ADDR" ]; then
    # shellcheck disable=SC2046
    set -- $(hostname -i 2>/dev/null)
    ADDR=${1:-}
fi
if [ -z "$ADDR" ]; then
    echo "sbc-start: no address: set SBC_ADDRESS or attach the container to a network" >&2
    exit 2
fi
SIP_PORT=${SBC_SIP_PORT:-5060}
CFG=/etc/sbc-harness/kamailio.cfg

RTP_PID=
KAM_PID=
STOPPING=
RC=0

stop_all() {
    for pid in $KAM_PID $RTP_PID; do
        kill -TERM "$pid" 2>/dev/null
    done
}
trap 'STOPPING=1; stop_all' TERM INT

# rtpengine's ng control port 2223 is 0x08AF in /proc/net/udp's local_address.
ng_bound() {
    grep -Eq '^ *[0-9]+: [0-9A-F]{8}:08AF ' /proc/net/udp
}

# Wait for daemon $1 to end and put its exit status in $RC. Not in a $(...)
# subshell: only this shell can wait for its children. A trapped signal ends
# `wait` early, hence the loop.
wait_for() {
    while :; do
        wait "$1"
        RC=$?
        kill -0 "$1" 2>/dev/null || return 0
    done
}

echo "sbc-start: address $ADDR, SIP port $SIP_PORT" >&2
rtpengine --config-file=none --table=-1 --foreground --log-stderr \
    --delete-delay=0 --listen-ng=127.0.0.1:2223 --interface="$ADDR" \
    --port-min=30000 --port-max=39999 --log-level=6 &
RTP_PID=$!

# Kamailio must not start before rtpengine answers (at most ~5 s).
tries=0
until ng_bound; do
    if [ -n "$STOPPING" ] || ! kill -0 "$RTP_PID" 2>/dev/null; then
        wait_for "$RTP_PID"
        echo "sbc-start: rtpengine ended ($RC) before its ng port was bound" >&2
        exit "$RC"
    fi
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then
        echo "sbc-start: rtpengine did not bind 127.0.0.1:2223 within 5 s" >&2
        kill -TERM "$RTP_PID" 2>/dev/null
        wait_for "$RTP_PID"
        exit 1
    fi
    sleep 0.05
done

kamailio -DD -E -m 256 -M 8 -f "$CFG" -l "udp:$ADDR:$SIP_PORT" &
KAM_PID=$!
[ -n "$STOPPING" ] && stop_all

# Sleep in the background and wait for it: a trapped signal ends `wait` at once.
while [ -z "$STOPPING" ] && kill -0 "$RTP_PID" 2>/dev/null && kill -0 "$KAM_PID" 2>/dev/null; do
    sleep 1 &
    wait $! 2>/dev/null
done

if [ -n "$STOPPING" ]; then
    wait_for "$KAM_PID"; kam_rc=$RC
    wait_for "$RTP_PID"; rtp_rc=$RC
    echo "sbc-start: stopped (kamailio $kam_rc, rtpengine $rtp_rc)" >&2
    [ "$kam_rc" -ne 0 ] && exit "$kam_rc"
    exit "$rtp_rc"
fi

if ! kill -0 "$KAM_PID" 2>/dev/null; then
    first=kamailio; wait_for "$KAM_PID"; other=$RTP_PID
else
    first=rtpengine; wait_for "$RTP_PID"; other=$KAM_PID
fi
rc=$RC
echo "sbc-start: $first ended with status $rc; stopping the other daemon" >&2
kill -TERM "$other" 2>/dev/null
wait_for "$other"
exit "$rc"
