# Build environment of c-bot: gcc on the offline Debian base (images/base).
# The build op runs the CMD over a writable copy of the source at /app.
# The RUN line is the tron game's, byte for byte: the engine's layer cache
# then installs the compiler once for both.
FROM judger/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libjson-c-dev \
    && rm -rf /var/lib/apt/lists/*
CMD ["sh", "/app/build.sh"]
