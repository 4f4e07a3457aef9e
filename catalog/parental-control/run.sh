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
echo "parental-control $(cat /app/VERSION) filtering $(grep -vc '^#' /data/blocklist.txt) domains, API on port $PORT"
# busybox httpd does not pass a CGI script's output streams on, so the scripts append each decision to
# /tmp/decisions.log and a tail in the background copies it to the container log.
: > /tmp/decisions.log
tail -f /tmp/decisions.log &
exec httpd -f -p "$PORT" -h /app/www
