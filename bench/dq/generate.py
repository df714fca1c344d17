"""Benchmark data for `sparkplane dq check` vs Great Expectations and pandera.

Writes ROWS rows x 11 columns of Parquet (snappy, row groups of 1M rows) in
FILES files under OUT/with-stats/ and the same rows without column statistics
under OUT/no-stats/ (so numeric checks must decode every value).

Columns: id int64 (unique), a..f float64 uniform [0, 1000), g, h int64
[0, 1e6), zone string (8 values), code string `C-<6 digits>`, ts timestamp[us].

With --faults, each file also gets a fixed set of failing values (the
Spark benchmark's data, bench/dq/spark_run.sh), so every tool has failures to
count and sample: in the file's first rows, 3 nulls in `a`, 2 values of `b`
out of range (-1, 1500), 1 of `g` (2000000), 2 unknown `zone`s, 2 `code`s
that miss the pattern, 1 null `ts`, and row 1's `id` equal to row 0's (one
duplicate key per file). --variants picks which copies to write.

Usage: generate.py --rows 10000000 --files 4 --out /tmp/dq-bench [--faults] [--variants with-stats]
"""

import argparse
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ZONES = ["airport", "downtown", "harbor", "midtown", "north", "old-town", "stadium", "university"]


def add_faults(cols: dict, n: int) -> None:
    """The fixed failing values of --faults, in the file's first rows."""
    assert n >= 16, "--faults needs at least 16 rows per file"
    def set_at(name, rows, values):
        arr = cols[name].to_numpy(zero_copy_only=False).copy()
        mask = np.zeros(n, dtype=bool)
        for row, value in zip(rows, values):
            if value is None:
                mask[row] = True
            else:
                arr[row] = value
        cols[name] = pa.array(arr, mask=mask if mask.any() else None)
    set_at("id", [1], [cols["id"][0].as_py()])
    set_at("a", [2, 3, 4], [None, None, None])
    set_at("b", [5, 6], [-1.0, 1500.0])
    set_at("g", [7], [2_000_000])
    set_at("zone", [8, 9], ["nowhere", "NORTH"])
    set_at("code", [10, 11], ["X-123456", "C-12345"])
    set_at("ts", [12], [None])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--out", default="/tmp/dq-bench")
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--variants", default="with-stats,no-stats")
    args = parser.parse_args()
    variants = [(v, v == "with-stats") for v in args.variants.split(",")]
    rng = np.random.default_rng(42)
    per_file = args.rows // args.files
    for variant, stats in variants:
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
        if args.faults:
            add_faults(cols, n)
        table = pa.table(cols)
        for variant, stats in variants:
            path = os.path.join(args.out, variant, f"part-{f:05d}.parquet")
            pq.write_table(table, path, row_group_size=1_000_000, compression="snappy", write_statistics=stats)
        print(f"file {f + 1}/{args.files}: {n} rows", flush=True)


if __name__ == "__main__":
    main()
