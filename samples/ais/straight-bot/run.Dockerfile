# Run environment of straight-bot: Python 3 (python3-minimal is enough: socket,
# random, os, sys, time) on the offline Debian base (images/base).
FROM judger/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends python3-minimal \
    && rm -rf /var/lib/apt/lists/*
CMD ["python3", "/app/bot.py"]
