#!/bin/sh
# Classic fork bomb: the pids limit stops it; the wall time ends it.
echo "forking" >&2
bomb() { bomb | bomb & }
bomb
while :; do sleep 1; done
