# Run environment of a C program: the base image alone (libc is there). The
# artifacts are mounted read-only at /app.
FROM judger/debian:bookworm
WORKDIR /app
CMD ["/app/main"]
