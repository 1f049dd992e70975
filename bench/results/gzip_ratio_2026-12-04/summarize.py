# Summarizes results*.txt into a table: ratio, MB/s median and min-max over all reps.
import re, sys, statistics, glob
rows = {}; cur = None
for fn in sys.argv[1:]:
    for line in open(fn):
        if line.startswith("== ") and not line.startswith("== done"): cur = line.split()[1]; continue
        m = re.match(r"(go-default|libdeflate level (\d)) rep \d+: (\d+) -> (\d+) bytes, ratio ([\d.]+), ([\d.]+) MB/s", line)
        if m:
            key = (cur, "go default" if m.group(1) == "go-default" else f"ld L{m.group(2)}")
            r = rows.setdefault(key, {"ratio": float(m.group(5)), "out": int(m.group(4)), "mbs": []}); r["mbs"].append(float(m.group(6)))
files = list(dict.fromkeys(k[0] for k in rows))
for f in files:
    go = rows[(f, "go default")]["ratio"]
    print(f"\n{f}")
    print(f"{'codec':<11} {'out bytes':>9} {'ratio':>6} {'vs go':>7} {'MB/s med':>8} {'min-max':>13} n")
    first = None
    for k in ["go default"] + [f"ld L{i}" for i in range(1, 10)]:
        r = rows[(f, k)]; mb = r["mbs"]
        if k != "go default" and first is None and r["ratio"] >= go: first = k
        print(f"{k:<11} {r['out']:>9} {r['ratio']:>6.3f} {100*(r['ratio']/go-1):>+6.1f}% {statistics.median(mb):>8.0f} {min(mb):>6.0f}-{max(mb):<6.0f} {len(mb)}")
    print("first libdeflate level reaching go default ratio:", first)
