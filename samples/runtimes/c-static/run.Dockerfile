# Run environment of a statically linked C program: the busybox test image
# (judger-test/busybox:1, FROM scratch + busybox-static); starts in a blink.
FROM judger-test/busybox:1
WORKDIR /app
CMD ["/app/main"]
