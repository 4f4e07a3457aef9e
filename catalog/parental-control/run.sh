#!/bin/sh
# parental-control: keeps a list of blocked domains and answers "allow" or "block" for a host name over HTTP,
# as a home router's DNS filter would ask it. The list is seeded from the image and lives in the data volume
# (/data), so entries added at runtime survive restarts and updates. The root filesystem is read-only.
set -eu
PORT="${PORT:-8080}"
mkdir -p /data
if [ ! -f /data/blocklist.txt ]; then
  cp /app/blocklist.default /data/blocklist.txt
fi
# Domains a version adds to the default list (EXTRA_BLOCKED, space-separated) are merged into the saved list.
for domain in ${EXTRA_BLOCKED:-}; do
  grep -qx "$domain" /data/blocklist.txt || echo "$domain" >> /data/blocklist.txt
done
echo "parental-control $(cat /app/VERSION) filtering $(grep -c . /data/blocklist.txt) domains, API on port $PORT"
# busybox httpd in the foreground; the CGI scripts log each decision to stderr, which is the container log.
exec httpd -f -v -p "$PORT" -h /app/www
