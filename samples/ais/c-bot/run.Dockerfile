# Run environment of c-bot: empty. /app/c-bot is static (even its DNS
# lookup of "game": glibc >= 2.34 keeps files/dns inside libc).
FROM scratch
CMD ["/app/c-bot"]
