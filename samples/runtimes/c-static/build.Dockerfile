# Build environment for static C programs: gcc on the Debian base, linking
# statically so the run image can be the tiny busybox/scratch kind.
FROM judger/debian:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
CMD ["sh", "-c", "gcc -O2 -static -std=c11 -Wall -o main *.c -lm"]
