"""CI's budget line: each phase's wall time against the figure recorded for it.

    python3 scripts/phase_budget.py check  PHASE_TIMES JUNIT BUDGET_DIR [--cold]
    python3 scripts/phase_budget.py record PHASE_TIMES JUNIT BUDGET_DIR [--cold]

PHASE_TIMES is the file .ci/run writes (one "NAME<TAB>SECONDS<TAB>SCRIPT" line
a phase), JUNIT nextest's report, BUDGET_DIR the folder holding
`budget.tsv` (one "PHASE<TAB>WARM<TAB>COLD" line a phase, seconds; `-` where
no figure is recorded; `#` starts a comment) and `budget-tests.tsv` (each
test's "BINARY NAME<TAB>SECONDS" when the figures were recorded). `--cold`
compares with the cold column: .ci/run passes it when the target folder was
empty at the start.

`check` prints every phase over its figure by more than 20 % (and by more than
SLACK seconds, so a 3 s phase does not cry wolf at 4 s) in a banner, then the
slowest tests that are new since the figures were recorded and the tests that
grew the most; it exits 1 when a phase is over, 0 when all are within, 2 on a
malformed file (naming its path and line). .ci/run ignores the exit code: the
budget line is loud, but it does not fail the build.

`record` writes the run's figures into BUDGET_DIR (the warm or the cold
column, the other kept) and the run's tests with their times.
"""
import sys
import xml.etree.ElementTree as ET

import slowest_tests  # scripts/ is this script's folder, first on sys.path

OVER = 0.20
SLACK = 10
SHOWN = 10


class Malformed(Exception):
    pass


def read_phase_times(path):
    phases = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2 or not fields[1].isdigit():
                raise Malformed(f"{path}:{number}: expected NAME<TAB>SECONDS<TAB>SCRIPT, found {line!r}")
            # "tests (failed, exit 100)" is the tests phase of a failed run.
            name = fields[0].split(" (", 1)[0]
            phases[name] = phases.get(name, 0) + int(fields[1])
    return phases


def read_budget(path):
    budget = {}
    try:
        f = open(path, encoding="utf-8")
    except FileNotFoundError:
        return budget
    with f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].rstrip()
            if not line:
                continue
            fields = line.split("\t")
            if len(fields) != 3 or not all(v == "-" or v.isdigit() for v in fields[1:]):
                raise Malformed(
                    f"{path}:{number}: expected PHASE<TAB>WARM<TAB>COLD (seconds, or - for none), found {line!r}"
                )
            budget[fields[0]] = tuple(None if v == "-" else int(v) for v in fields[1:])
    return budget


def read_junit(path):
    """Each test's "BINARY NAME" and seconds, read by slowest_tests.py's one reader of the report."""
    try:
        return {f"{binary} {name}": seconds for seconds, binary, name in slowest_tests.cases(path)}
    except FileNotFoundError:
        return {}
    except ET.ParseError as e:
        raise Malformed(f"{path}: not a JUnit report: {e}")


def read_recorded_tests(path):
    tests = {}
    try:
        f = open(path, encoding="utf-8")
    except FileNotFoundError:
        return tests
    with f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            name, _, seconds = line.rpartition("\t")
            try:
                tests[name] = float(seconds)
            except ValueError:
                raise Malformed(f"{path}:{number}: expected TEST<TAB>SECONDS, found {line!r}")
    return tests


def check(phase_times, junit, budget_dir, cold):
    column = 1 if cold else 0
    kind = "cold" if cold else "warm"
    phases = read_phase_times(phase_times)
    budget = read_budget(f"{budget_dir}/budget.tsv")
    if not any(figures[column] is not None for figures in budget.values()):
        print(f"==> CI budget: no {kind} figures recorded in {budget_dir}/budget.tsv (scripts/phase_budget.py record)")
        return 0
    over = []
    for name, seconds in phases.items():
        figure = budget.get(name, (None, None))[column]
        if figure is None:
            continue
        if seconds > figure * (1 + OVER) and seconds - figure > SLACK:
            over.append((name, seconds, figure))
    if not over:
        print(f"==> CI budget: every phase within 20 % of its recorded {kind} figure ({budget_dir}/budget.tsv)")
        return 0
    bar = "!" * 78
    print(bar)
    print(f"!!! CI BUDGET: {len(over)} phase(s) took more than 20 % over the recorded {kind} figure")
    print(f"!!! ({budget_dir}/budget.tsv); find the cause or record new figures with a reason")
    for name, seconds, figure in over:
        print(f"!!!   {name:<24} {seconds:>6} s, recorded {figure:>6} s  (+{(seconds - figure) * 100 // figure} %)")
    now = read_junit(junit)
    recorded = read_recorded_tests(f"{budget_dir}/budget-tests.tsv")
    new = sorted(((t, n) for n, t in now.items() if n not in recorded), key=lambda p: (-p[0], p[1]))
    if new:
        print(f"!!! the slowest of the {len(new)} tests new since the figures were recorded:")
        for seconds, name in new[:SHOWN]:
            print(f"!!!   {seconds:8.1f} s  {name}")
    grown = sorted(
        ((now[n] - recorded[n], n) for n in now if n in recorded and now[n] - recorded[n] >= 1.0),
        key=lambda p: (-p[0], p[1]),
    )
    if grown:
        print("!!! the tests that grew the most since then:")
        for delta, name in grown[:SHOWN]:
            print(f"!!!   +{delta:7.1f} s  {name} (now {now[name]:.1f} s)")
    print(bar)
    return 1


def record(phase_times, junit, budget_dir, cold):
    column = 1 if cold else 0
    phases = read_phase_times(phase_times)
    path = f"{budget_dir}/budget.tsv"
    budget = read_budget(path)
    header = []
    try:
        with open(path, encoding="utf-8") as f:
            header = [line.rstrip("\n") for line in f if line.startswith("#")]
    except FileNotFoundError:
        pass
    for name, seconds in phases.items():
        figures = list(budget.get(name, (None, None)))
        figures[column] = seconds
        budget[name] = tuple(figures)
    with open(path, "w", encoding="utf-8") as f:
        for line in header:
            f.write(line + "\n")
        for name, (warm, cold_figure) in budget.items():
            f.write(f"{name}\t{'-' if warm is None else warm}\t{'-' if cold_figure is None else cold_figure}\n")
    tests = read_junit(junit)
    if tests:
        with open(f"{budget_dir}/budget-tests.tsv", "w", encoding="utf-8") as f:
            f.write("# each test's wall time in the run the figures in budget.tsv were recorded from\n")
            for name in sorted(tests):
                f.write(f"{name}\t{tests[name]:.1f}\n")
    print(f"==> recorded {len(phases)} phases ({'cold' if cold else 'warm'}) and {len(tests)} tests in {budget_dir}")
    return 0


def main(argv):
    args = [a for a in argv if a != "--cold"]
    if len(args) != 4 or args[0] not in ("check", "record"):
        print("usage: phase_budget.py check|record PHASE_TIMES JUNIT BUDGET_DIR [--cold]", file=sys.stderr)
        return 2
    verb, phase_times, junit, budget_dir = args
    try:
        return (check if verb == "check" else record)(phase_times, junit, budget_dir, "--cold" in argv)
    except Malformed as e:
        print(f"phase_budget.py: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"phase_budget.py: {e.filename}: no such file", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
