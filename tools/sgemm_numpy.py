#!/usr/bin/env python3
"""numpy/OpenBLAS sgemm 1024^3, the GEMM ceiling examples/bench_gemm.rs is compared with.

Prints one JSON object: GFLOP/s per second of wall time and per second of process CPU time
(the second is not diluted by other processes sharing the cores). Set OPENBLAS_NUM_THREADS.
"""

import json
import os
import time

import numpy as np

n = 1024
a = np.random.rand(n, n).astype(np.float32)
b = np.random.rand(n, n).astype(np.float32)
a @ b
walls = []
cpu0 = time.process_time()
reps = 0
for _ in range(7):
    t = time.perf_counter()
    for _ in range(10):
        a @ b
    reps += 10
    walls.append((time.perf_counter() - t) / 10)
cpu = (time.process_time() - cpu0) / reps
walls.sort()
flops = 2 * n**3
print(json.dumps({
    "case": "numpy_sgemm_1024",
    "threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    "gflops": round(flops / walls[len(walls) // 2] / 1e9, 1),
    "cpu": round(flops / cpu / 1e9, 1),
}))
