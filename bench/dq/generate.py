"""Benchmark data for `sparkplane dq check` vs Great Expectations and pandera.

Writes ROWS rows x 11 columns of Parquet (snappy, row groups of 1M rows) in
FILES files under OUT/with-stats/ and the same rows without column statistics
under OUT/no-stats/ (so numeric checks must decode every value).

Columns: id int64 (unique), a..f float64 uniform [0, 1000), g, h int64
[0, 1e6), zone string (8 values), code string `C-<6 digits>`, ts timestamp[us].

Usage: generate.py --rows 10000000 --files 4 --out /tmp/dq-bench
"""

import argparse
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ZONES = ["airport", "downtown", "harbor", "midtown", "north", "old-town", "stadium", "university"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--out", default="/tmp/dq-bench")
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    per_file = args.rows // args.files
    for variant, stats in (("with-stats", True), ("no-stats", False)):
        os.makedirs(os.path.join(args.out, variant), exist_ok=True)
    for f in range(args.files):
        n = per_file
        start = f * per_file
        cols = {"id": pa.array(np.arange(start, start + n, dtype=np.int64))}
        for name in "abcdef":
            cols[name] = pa.array(rng.uniform(0, 1000, n))
        for name in "gh":
            cols[name] = pa.array(rng.integers(0, 1_000_000, n, dtype=np.int64))
        zones = np.array(ZONES)[rng.integers(0, len(ZONES), n)]
        cols["zone"] = pa.array(zones)
        cols["code"] = pa.array(np.char.add("C-", np.char.zfill(rng.integers(0, 999_999, n).astype(str), 6)))
        base = np.datetime64("2026-11-20T00:00:00", "us")
        cols["ts"] = pa.array(base + rng.integers(0, 86_400_000_000, n).astype("timedelta64[us]"))
        table = pa.table(cols)
        for variant, stats in (("with-stats", True), ("no-stats", False)):
            path = os.path.join(args.out, variant, f"part-{f:05d}.parquet")
            pq.write_table(table, path, row_group_size=1_000_000, compression="snappy", write_statistics=stats)
        print(f"file {f + 1}/{args.files}: {n} rows", flush=True)


if __name__ == "__main__":
    main()
