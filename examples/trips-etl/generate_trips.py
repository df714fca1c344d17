"""Deterministic taxi-like trip data for the trips-etl example.

Writes CSV files of raw trips — with the duplicates and bad rows real feeds
have — to OUT (default: data/raw/trips next to this script). Part files an
earlier run left there (part-NNNNN.csv) are removed first, so OUT holds exactly
what this run says it wrote; other files in OUT are left alone.

Usage: generate_trips.py [--rows N] [--files K] [--out DIR] [--seed S]
"""

import argparse
import csv
import os
import random
import re
from datetime import datetime, timedelta

PART = re.compile(r"part-\d{5}\.csv")
ZONES = ["airport", "downtown", "harbor", "midtown", "north", "old-town", "stadium", "university"]


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--out", default=os.path.join(here, "data", "raw", "trips"))
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    if args.rows < 1 or args.files < 1:
        parser.error("--rows and --files must be at least 1")
    os.makedirs(args.out, exist_ok=True)
    earlier = sorted(name for name in os.listdir(args.out) if PART.fullmatch(name))
    for name in earlier:
        os.remove(os.path.join(args.out, name))
    start = datetime(2026, 11, 1)
    per_file = -(-args.rows // args.files)
    written = 0
    for part in range(args.files):
        path = os.path.join(args.out, f"part-{part:05d}.csv")
        with open(path, "w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(["trip_id", "pickup_ts", "zone", "distance_km", "fare"])
            for _ in range(min(per_file, args.rows - written)):
                trip = written
                pickup = start + timedelta(seconds=rng.randrange(0, 20 * 86_400))
                distance = round(rng.lognormvariate(1.0, 0.7), 2)
                fare = round(3.0 + distance * rng.uniform(1.5, 2.5), 2)
                if rng.random() < 0.01:
                    distance = 0.0  # a bad reading the job drops
                out.writerow([f"t{trip:09d}", pickup.isoformat(sep=" "), rng.choice(ZONES), distance, fare])
                if rng.random() < 0.02:
                    out.writerow([f"t{trip:09d}", pickup.isoformat(sep=" "), rng.choice(ZONES), distance, fare])  # a duplicate
                written += 1
    def count(n: int, what: str) -> str:
        return f"{n} {what}" if n == 1 else f"{n} {what}s"

    removed = f" (removed {count(len(earlier), 'earlier part file')})" if earlier else ""
    files = count(args.files, "file")
    print(f"wrote {written} trips in {files} to {args.out}{removed}")


if __name__ == "__main__":
    main()
