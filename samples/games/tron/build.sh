#!/bin/sh
# Builds the game logic: a static binary, so the run image can be FROM scratch.
# In the build container the source is at /app and so is the output; on a
# host, OUT=<dir> puts the binary elsewhere.
set -e
cd "$(dirname "$0")"
${CC:-gcc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -static -o "${OUT:-.}/tron" game.c rules.c -ljson-c
