#!/usr/bin/env bash
# Where a process's resident memory is: Rss summed per mapped file from /proc/PID/smaps
# (anonymous memory, heap and stacks together as "[anonymous]"), largest first, in MiB.
# Usage: bench/rss_breakdown.sh PID [LINES]   (LINES: how many rows, default 25)
set -euo pipefail
pid=$1
lines=${2:-25}
awk '
  /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anonymous]";
                            if (name ~ /^\[(heap|stack|anon)/) name = "[anonymous]"; next }
  /^Rss:/ { rss[name] += $2; total += $2 }
  END {
    for (n in rss) if (rss[n] > 0) printf "%8.2f  %s\n", rss[n] / 1024, n
    printf "%8.2f  total\n", total / 1024
  }' "/proc/$pid/smaps" | sort -rn | head -n "$((lines + 1))"
