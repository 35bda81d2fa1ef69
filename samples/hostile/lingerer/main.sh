#!/bin/sh
# Ignores polite signals and never exits: must be removed when the match ends.
trap '' TERM INT HUP
echo "lingering" >&2
while :; do sleep 1; done
