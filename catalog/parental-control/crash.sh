#!/bin/sh
# The broken release used by rollback tests: starts, then fails with exit code 3 a second later.
echo "parental-control $(cat /app/VERSION) starting"
sleep 1
echo "parental-control $(cat /app/VERSION): cannot open filter database, exiting" >&2
exit 3
