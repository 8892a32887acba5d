#!/usr/bin/python3
"""Plots ssehub-bench JSON lines: deliveries/s and p99 latency against subscribers.

Usage: scripts/plot-bench.py OUT.png RUN.json [RUN.json ...]
Needs Debian's python3-matplotlib (apt-get install python3-matplotlib).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

out, runs = sys.argv[1], [json.load(open(p)) for p in sys.argv[2:]]
runs.sort(key=lambda r: r["subscribers"])
subs = [r["subscribers"] for r in runs]
fig, ax1 = plt.subplots(figsize=(8, 4.5))
ax1.plot(subs, [r["deliveries_per_s"] / 1000 for r in runs], "o-", color="#4f68ff", label="deliveries/s (thousands)")
ax1.set_xlabel("subscribers (8 publishers, 2,000,000 deliveries per run)")
ax1.set_ylabel("deliveries/s (thousands)", color="#4f68ff")
ax1.set_ylim(bottom=0)
ax2 = ax1.twinx()
ax2.plot(subs, [r["p99_ms"] for r in runs], "s--", color="#dc3545", label="p99 publish→receive (ms)")
ax2.set_ylabel("p99 publish→receive (ms)", color="#dc3545")
ax2.set_ylim(bottom=0)
ax1.set_xticks(subs)
ax1.grid(alpha=0.3)
fig.legend(loc="upper center", ncol=2, frameon=False)
fig.tight_layout(rect=(0, 0, 1, 0.93))
fig.savefig(out, dpi=110)
