"""pandas beside bench/table-memory.ts: peak RSS of read_csv and the frame's memory_usage(deep=True).

usage: python3 bench/pandas_memory.py FILE   → prints JSON {baseline_mb, peak_mb, deep_mb, seconds}
"""
import json
import resource
import sys
import time

import pandas as pd

baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
frame = pd.read_csv(sys.argv[1])
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
deep = frame.memory_usage(deep=True).sum() / 2**20
print(json.dumps({"baseline_mb": baseline, "peak_mb": peak, "deep_mb": deep, "seconds": seconds, "pandas": pd.__version__}))
