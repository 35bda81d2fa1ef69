#!/bin/sh
# Asks for far more memory than its limit: OOM-killed, verdict MLE.
echo "allocating 1 GiB" >&2
exec dd if=/dev/zero of=/dev/null bs=1024M count=1
