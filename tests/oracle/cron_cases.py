# Generates cron expressions and start times with croniter's next run time
# (Debian's python3-croniter), one JSON object a line, for
# tests/unit/cron_test.cc. Deterministic for a given seed.
#   /usr/bin/python3 cron_cases.py COUNT SEED
import datetime
import json
import random
import sys

import croniter

count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)

RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]


def field(i):
    lo, hi = RANGES[i]
    kind = rng.random()
    if kind < 0.35:
        return "*"
    if kind < 0.5:
        return "*/" + str(rng.randint(1, max(1, (hi - lo) // 2)))
    if kind < 0.7:
        return str(rng.randint(lo, hi))
    if kind < 0.85:
        a = rng.randint(lo, hi)
        b = rng.randint(a, hi)
        step = "/" + str(rng.randint(1, 5)) if rng.random() < 0.3 else ""
        return f"{a}-{b}{step}"
    return ",".join(str(v) for v in sorted(rng.sample(range(lo, hi + 1), rng.randint(2, 4))))


start = datetime.datetime(2026, 1, 1)
for _ in range(count):
    expr = " ".join(field(i) for i in range(5))
    t = start + datetime.timedelta(minutes=rng.randint(0, 60 * 24 * 365 * 3), seconds=rng.randint(0, 59))
    try:
        nxt = croniter.croniter(expr, t).get_next(datetime.datetime)
    except Exception:  # croniter refuses some days (e.g. 31 in a short month only): skip
        continue
    epoch = datetime.datetime(1970, 1, 1)
    print(json.dumps({"expr": expr, "start": int((t - epoch).total_seconds()), "next": int((nxt - epoch).total_seconds())}))
