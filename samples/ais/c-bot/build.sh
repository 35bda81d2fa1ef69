#!/bin/sh
# Builds c-bot as a static binary (the run image is FROM scratch). In the
# build container the source and the output are /app; on a host, OUT=<dir>.
# The linker warns that getaddrinfo() in a static binary needs glibc's shared
# NSS modules at run time: since glibc 2.34 the "files" and "dns" lookups live
# in libc itself, so resolving "game" works without them (verified FROM scratch).
set -e
cd "$(dirname "$0")"
${CC:-gcc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -static -o "${OUT:-.}/c-bot" bot.c
