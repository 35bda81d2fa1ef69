#!/bin/sh
# Tries to write outside /tmp (read-only root, read-only /app): every try
# must fail, /tmp must work. Exits 0 when that holds. /run and /var/tmp:
# Podman mounts writable tmpfs of its own there in a read-only container
# unless the judger mounts shut ones (match/create_compat.h).
bad=0
for f in /x /etc/x /app/x /bin/x /var/x /var/tmp/x /run/x; do
  if (echo x > "$f") 2>/dev/null; then echo "WROTE:$f"; bad=1; else echo "REFUSED:$f"; fi
done
if echo ok > /tmp/x && [ "$(cat /tmp/x)" = ok ]; then echo "TMP:ok"; else echo "TMP:broken"; bad=1; fi
if mkdir /sys/x 2>/dev/null; then echo "WROTE:/sys"; bad=1; fi
exit $bad
