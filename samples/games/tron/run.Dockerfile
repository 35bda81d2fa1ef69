# Run environment of the tron game logic: nothing at all. The binary is
# static and reaches the container through the read-only /app mount.
FROM scratch
CMD ["/app/tron"]
