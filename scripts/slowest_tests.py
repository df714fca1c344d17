"""Prints the slowest tests of a nextest JUnit report, slowest first:

    python3 scripts/slowest_tests.py JUNIT_XML [COUNT]

Each line is the test's wall time in seconds, its binary and its name.
.ci/run calls it after the phase times, so each CI run says where its
test time went.
"""
import sys
import xml.etree.ElementTree as ET


def cases(path):
    """Every test of the report: (seconds, binary, name). Raises ET.ParseError on a report that is not XML."""
    return [
        (float(case.get("time", "0")), case.get("classname", ""), case.get("name", ""))
        for case in ET.parse(path).getroot().iter("testcase")
    ]


def slowest(path, count):
    return sorted(cases(path), key=lambda c: (-c[0], c[1], c[2]))[:count]


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: slowest_tests.py JUNIT_XML [COUNT]")
    for seconds, binary, name in slowest(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 15):
        print(f"    {seconds:8.1f} s  {binary} {name}")
