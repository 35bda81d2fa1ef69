# Run environment of c4-js: Debian's Node.js for the bot and python3-minimal
# for relay.py (the contest's wrapper) on the offline Debian base.
FROM judger/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends nodejs python3-minimal \
    && rm -rf /var/lib/apt/lists/*
CMD ["python3", "/app/relay.py", "node", "/app/bot.js"]
