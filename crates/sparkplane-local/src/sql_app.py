"""sparkplane's one-batch Spark application: runs SQL statements in a local
Spark session (classic pyspark, so any Spark line, 3.5 included) with its
event log on, and answers the last statement's rows as one JSON document.

Reads a JSON request on stdin:
  {"statements": ["SELECT ..."], "master": "local[2]", "appName": "...",
   "eventLogDir": "/path/history"}
Writes on stdout either
  {"columns": [{"name": ..., "type": ...}], "rows": [[...], ...], "appId": ...}
(the event log is complete once the process has ended) or
  {"error": {"kind": "sql" | "client", "message": ...}}
"""

import base64
import datetime
import decimal
import json
import sys


def emit(document):
    sys.stdout.write(json.dumps(document, default=plain))
    sys.stdout.write("\n")
    sys.stdout.flush()


def plain(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def message_of(error):
    text = str(error).split("\n\nJVM stacktrace:")[0].strip()
    lines = [line for line in text.splitlines() if line.strip()]
    # A Java exception through py4j: its first line after "An error occurred while calling".
    for line in lines:
        if "Exception" in line and not line.startswith("An error occurred"):
            return line.lstrip(": ").strip()
    return lines[0] if lines else repr(error)


def main():
    request = json.load(sys.stdin)
    from pyspark.sql import SparkSession

    try:
        spark = (
            SparkSession.builder.master(request["master"])
            .appName(request["appName"])
            .config("spark.eventLog.enabled", "true")
            .config("spark.eventLog.dir", request["eventLogDir"])
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
    except Exception as e:  # noqa: BLE001 - every failure is reported
        emit({"error": {"kind": "client", "message": message_of(e)}})
        return
    try:
        frame = None
        for text in request["statements"]:
            frame = spark.sql(text)
        if frame is None:
            emit({"columns": [], "rows": []})
            return
        columns = [{"name": f.name, "type": f.dataType.simpleString()} for f in frame.schema.fields]
        rows = [list(row) for row in frame.collect()]
        emit({"columns": columns, "rows": rows, "appId": spark.sparkContext.applicationId})
    except Exception as e:  # noqa: BLE001 - every failure is reported
        emit({"error": {"kind": "sql", "message": message_of(e)}})
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
