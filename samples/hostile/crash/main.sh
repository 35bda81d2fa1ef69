#!/bin/sh
# Crashes at once: verdict RE, exit code 3.
echo "about to crash" >&2
exit 3
