# Run environment of the slowstart game's trivial player: bash (its
# /dev/tcp) on the offline Debian base; nothing to install or build.
FROM judger/debian:bookworm
CMD ["bash", "/app/player.sh"]
