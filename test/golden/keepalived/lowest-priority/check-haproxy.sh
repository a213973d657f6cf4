#!/bin/bash
# keepalived's health check of this host's HAProxy, rendered by edge-proxy: keepalived runs it every few
# seconds and moves the virtual addresses away from a host where it keeps failing.
#
# It passes when HAProxy's HTTP port on the host answers `GET /` with any HTTP status line: HAProxy answers
# that itself (a redirect to HTTPS), so the check follows the proxy and not the sites behind it, whose
# backends every host reaches alike. Nothing listening, a reset connection or no answer within the timeout
# fails it. bash speaks TCP itself (/dev/tcp): the keepalived image has no curl.
set -u

probe() {
    exec 3<>/dev/tcp/127.0.0.1/80 || exit 1
    printf 'GET / HTTP/1.1\r\nHost: keepalived-check\r\nConnection: close\r\n\r\n' >&3 || exit 1
    IFS= read -r status_line <&3 || exit 1
    [[ $status_line =~ ^HTTP/1\.[01]\ [1-5][0-9][0-9] ]]
}
export -f probe

# A proxy that takes the connection but never answers must fail too, and in time for the next check.
exec timeout --signal=KILL 1 "$BASH" -c probe
