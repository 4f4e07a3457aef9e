#!/bin/sh
# energy-monitor: reads a (simulated) smart meter every INTERVAL_SECONDS, logs each reading, appends it to
# /data/readings.csv (time, watts, total Wh) and keeps the running energy total across restarts in /data/total.
# The CSV is rotated past 64 KiB so it cannot fill the app's disk allocation.
set -eu
interval="${INTERVAL_SECONDS:-5}"
csv=/data/readings.csv
mkdir -p /data
[ -f "$csv" ] || echo "time,watts,total_wh" > "$csv"
total_mwh=$(cat /data/total 2>/dev/null || echo 0)
echo "energy-monitor $(cat /app/VERSION): one reading every ${interval}s, total so far $((total_mwh / 1000)) Wh"
while :; do
  now=$(date +%s)
  hour=$(date +%H)
  hour=${hour#0}
  # A household's load: 250 W base, more in the evening peak, plus appliance noise.
  distance=$(( hour > 19 ? hour - 19 : 19 - hour ))
  peak=$(( distance < 6 ? (6 - distance) * 120 : 0 ))
  noise=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 400 ))
  watts=$(( 250 + peak + noise ))
  total_mwh=$(( total_mwh + watts * interval * 1000 / 3600 ))
  echo "$total_mwh" > /data/total
  echo "$now,$watts,$((total_mwh / 1000))" >> "$csv"
  echo "meter: $watts W, total $((total_mwh / 1000)) Wh"
  if [ "$(wc -c < "$csv")" -gt 65536 ]; then
    mv "$csv" "$csv.1"
    echo "time,watts,total_wh" > "$csv"
  fi
  sleep "$interval"
done
