#!/bin/bash
# Runs the measurements sequentially, noting the load before each.
cd "$(dirname "$0")"  # with the payloads built here
for f in flask.pb tg.pb synthetic_batch.pb; do
  echo "== $f  $(uptime)"
  ./gzgo $f 3
  ../../../.venv/bin/python ld.py $f 3
done
echo "== done $(uptime)"
