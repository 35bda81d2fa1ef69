# Build environment of the tron game logic: gcc and json-c's static library
# on the offline Debian base (images/base). The build op runs the CMD over a
# writable copy of the source at /app; /app/tron is the artifact.
FROM judger/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libjson-c-dev \
    && rm -rf /var/lib/apt/lists/*
CMD ["sh", "/app/build.sh"]
