# Build environment of a C program: gcc on the offline Debian base
# (`judger build --base-image` makes judger/debian:bookworm). The judger runs
# this image's CMD with the program's source at /app (writable); what it leaves
# in /app are the artifacts. A non-zero exit is a compile error (CE) and the
# output is the log the user sees.
FROM judger/debian:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
CMD ["sh", "-c", "gcc -O2 -std=c11 -Wall -o main *.c -lm"]
