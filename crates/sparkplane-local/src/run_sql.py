"""sparkplane's SQL runner: runs a .sql file statement by statement.

Usage: run_sql.py FILE.sql [KEY=VALUE ...]

Each KEY=VALUE becomes a `${KEY}` substitution in the file. Statements end
with `;` at the end of a line. The result of the last statement is shown.
"""

import sys

from pyspark.sql import SparkSession


def statements(text):
    current = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("--") and not current:
            continue
        current.append(line)
        if stripped.endswith(";"):
            statement = "\n".join(current).strip().rstrip(";").strip()
            if statement:
                yield statement
            current = []
    rest = "\n".join(current).strip()
    if rest:
        yield rest


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: run_sql.py FILE.sql [KEY=VALUE ...]")
    with open(sys.argv[1], encoding="utf-8") as handle:
        text = handle.read()
    for pair in sys.argv[2:]:
        key, _, value = pair.partition("=")
        text = text.replace("${" + key + "}", value)
    spark = SparkSession.builder.getOrCreate()
    last = None
    for number, statement in enumerate(statements(text), start=1):
        print(f"sparkplane: statement {number}: {statement.splitlines()[0][:80]}", flush=True)
        last = spark.sql(statement)
    if last is not None and last.columns:
        last.show(20, truncate=False)
    spark.stop()


if __name__ == "__main__":
    main()
