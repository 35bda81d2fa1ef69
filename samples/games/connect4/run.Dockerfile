# Run environment of the connect4 game logic: Python 3 with its standard
# library (json is not in python3-minimal) on the offline Debian base.
# There is no build step: the artifacts are the source, at /app (read-only).
FROM judger/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*
CMD ["python3", "/app/game.py"]
