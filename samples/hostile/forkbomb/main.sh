#!/bin/sh
# Classic fork bomb: the pids limit stops it; the wall time ends it.
echo "starting the bomb" >&2
bomb() { bomb | bomb & }
# One fork from this shell, before anything bombs: ash forks each element
# of a pipeline from the shell that runs it, so "bomb" here would fork its
# second element after the first had started filling the pids limit, and a
# failed fork ends a non-interactive shell (exit 2: RE, not TLE; seen
# under load).
(bomb) &
# The shell itself must not fork again.
exec sleep 100000
