"""Cold start to first answer, for commands that print a query's rows.

Usage: first_answer.py RUNS NAME=REGEX=COMMAND [NAME=REGEX=COMMAND ...]

Runs the commands one after another, RUNS rounds (alternating, so a change
in the machine's load falls on both), through `sh -c`. For each run it
records the time until a line of the command's output (stdout and stderr
together) matches REGEX (the first answer) and the time until it exits
(with the server's shutdown). Prints one line per command: median, min and
max of both, and fails when a run gives no answer.
"""

import re
import statistics
import subprocess
import sys
import time


def once(pattern, command):
    start = time.monotonic()
    process = subprocess.Popen(["sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    answer = None
    for line in process.stdout:
        if answer is None and re.search(pattern, line):
            answer = time.monotonic() - start
    process.wait()
    return answer, time.monotonic() - start


def main():
    runs = int(sys.argv[1])
    cases = [arg.split("=", 2) for arg in sys.argv[2:]]
    results = {name: ([], []) for name, _, _ in cases}
    for round_ in range(runs):
        for name, pattern, command in cases:
            answer, total = once(pattern, command)
            if answer is None:
                sys.exit(f"{name}: run {round_ + 1} printed no line matching {pattern!r}")
            results[name][0].append(answer)
            results[name][1].append(total)
            print(f"  run {round_ + 1} {name}: first answer {answer:.2f} s, exit {total:.2f} s", file=sys.stderr)
    for name, (answers, totals) in results.items():
        print(
            f"{name}: first answer median {statistics.median(answers):.2f} s "
            f"(min {min(answers):.2f}, max {max(answers):.2f}); "
            f"exit median {statistics.median(totals):.2f} s (min {min(totals):.2f}, max {max(totals):.2f}); {runs} runs"
        )


if __name__ == "__main__":
    main()
