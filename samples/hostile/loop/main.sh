#!/bin/sh
# Spins forever: killed at its wall time, verdict TLE.
echo "spinning" >&2
while :; do :; done
