#!/bin/sh
# Tries to leave the match network: the Internet, the host (gateway and the
# default docker bridge), and the engine socket. Prints BLOCKED:<what> or
# ESCAPED:<what>; exits 0 when everything was blocked.
esc=0
try() { # what, command...
  what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ESCAPED:$what"; esc=1; else echo "BLOCKED:$what"; fi
}
gw=$(ip route | sed -n 's/^default via \([0-9.]*\).*/\1/p')
ip route >&2
try internet nc -w 1 1.1.1.1 80 </dev/null
try gateway nc -w 1 "${gw:-172.17.0.1}" "${PROBE_PORT:-45711}" </dev/null
try docker0 nc -w 1 172.17.0.1 "${PROBE_PORT:-45711}" </dev/null
try dns nslookup example.com
try socket test -e /var/run/docker.sock
try socket-alt test -e /run/docker.sock
try judger-dir test -e /judger
exit $esc
