#!/bin/sh
# Test player for turn clocks (tests/judger/match/turn_clocks.c), busybox sh.
#   main.sh burn|sleep|ok|crash|memhog
# burn: spends CPU until killed; sleep: sleeps until killed; ok: exits 0
# after 1 s; crash: exits 3 after 1 s; memhog: grows until its memory
# limit kills it.
case "$1" in
burn) while :; do :; done ;;
sleep) exec sleep 1000 ;;
ok) sleep 1; exit 0 ;;
crash) sleep 1; exit 3 ;;
memhog) x=$(head -c 268435456 /dev/zero | tr '\0' x); echo "${#x}" ;;
esac
exit 0
