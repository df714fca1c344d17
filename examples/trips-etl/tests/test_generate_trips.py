"""Unit tests of the trips-etl example's data generator (stdlib only).

`sparkplane ci` runs them through the job's spec.ci.testCommand:
    python3 -m unittest discover -s tests
"""

import csv
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATOR = os.path.join(HERE, "..", "generate_trips.py")


def generate(out: str, rows: int, files: int, seed: int = 7) -> list:
    subprocess.run(
        [sys.executable, GENERATOR, "--rows", str(rows), "--files", str(files), "--out", out, "--seed", str(seed)],
        check=True,
        capture_output=True,
    )
    lines = []
    for name in sorted(os.listdir(out)):
        with open(os.path.join(out, name), newline="", encoding="utf-8") as handle:
            lines.append(list(csv.reader(handle)))
    return lines


class GenerateTrips(unittest.TestCase):
    def test_every_file_has_the_header_the_job_reads(self):
        with tempfile.TemporaryDirectory() as out:
            for rows in generate(out, rows=50, files=2):
                self.assertEqual(rows[0], ["trip_id", "pickup_ts", "zone", "distance_km", "fare"])

    def test_rows_are_spread_over_files_with_some_duplicates_at_most(self):
        with tempfile.TemporaryDirectory() as out:
            files = generate(out, rows=500, files=3)
            ids = [row[0] for rows in files for row in rows[1:]]
            self.assertEqual(len(set(ids)), 500)
            self.assertGreaterEqual(len(ids), 500)

    def test_the_same_seed_gives_the_same_data(self):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            self.assertEqual(generate(a, rows=100, files=1), generate(b, rows=100, files=1))

    def test_a_second_run_leaves_exactly_what_it_says_it_wrote(self):
        with tempfile.TemporaryDirectory() as out:
            generate(out, rows=90, files=3)
            with open(os.path.join(out, "notes.txt"), "w", encoding="utf-8") as handle:
                handle.write("not the generator's")
            done = subprocess.run(
                [sys.executable, GENERATOR, "--rows", "40", "--files", "1", "--out", out],
                check=True,
                capture_output=True,
                text=True,
            )
            self.assertEqual(sorted(os.listdir(out)), ["notes.txt", "part-00000.csv"])
            self.assertEqual(done.stdout, f"wrote 40 trips in 1 file to {out} (removed 3 earlier part files)\n")
            with open(os.path.join(out, "part-00000.csv"), newline="", encoding="utf-8") as handle:
                ids = {row[0] for row in list(csv.reader(handle))[1:]}
            self.assertEqual(len(ids), 40)


if __name__ == "__main__":
    unittest.main()
