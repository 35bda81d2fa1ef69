# Run environment of c4-py: python3-minimal (enough for relay.py and the
# bot: os, socket, subprocess, threading) on the offline Debian base. The
# relay speaks to the game; the bot only reads stdin and writes stdout.
FROM judger/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends python3-minimal \
    && rm -rf /var/lib/apt/lists/*
CMD ["python3", "/app/relay.py", "python3", "/app/bot.py"]
