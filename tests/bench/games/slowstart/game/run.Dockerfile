# Run environment of the slowstart game logic: the connect4 sample's (Python
# 3 with its standard library on the offline Debian base), so the image
# build is a cache hit once the sample has been built.
FROM judger/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*
CMD ["python3", "/app/game.py"]
