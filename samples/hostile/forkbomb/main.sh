#!/bin/sh
# Classic fork bomb: the pids limit stops it; the wall time ends it.
echo "starting the bomb" >&2
bomb() { bomb | bomb & }
bomb
# The shell itself must not fork again: under the limit a failed fork ends a
# non-interactive shell (exit 2), and the player would be RE, not TLE.
exec sleep 100000
