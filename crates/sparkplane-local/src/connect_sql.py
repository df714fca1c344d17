"""sparkplane's Spark Connect SQL client: runs statements through Spark's
Python thin client (pyspark-client) and answers with one JSON document.

Reads a JSON request on stdin (the URL carries the session token, so it is
never in argv):
  {"url": "sc://localhost:PORT/;token=...", "statements": ["SELECT ..."],
   "parquet": "/path/out.parquet" or null, "waitSeconds": 240}
Writes on stdout either
  {"columns": [{"name": ..., "type": ...}], "rows": [[...], ...]}
for the last statement, or
  {"error": {"kind": "sql", "statement": I, "condition": ..., "sqlState": ...,
             "message": ..., "startIndex": ...}}
  {"error": {"kind": "unauthenticated" | "unreachable" | "client", "message": ...}}
"""

import base64
import datetime
import decimal
import json
import logging
import os
import re
import socket
import sys
import time


def emit(document):
    sys.stdout.write(json.dumps(document, default=plain))
    sys.stdout.write("\n")
    sys.stdout.flush()


def plain(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def wait_for(url, seconds):
    match = re.match(r"sc://([^:/;]+):(\d+)", url)
    if not match:
        return True
    host, port = match.group(1), int(match.group(2))
    deadline = time.time() + seconds
    while True:
        try:
            socket.create_connection((host, port), 0.25).close()
            return True
        except OSError:
            if time.time() > deadline:
                return False
            time.sleep(0.02)


def first_paragraph(text):
    return text.split("\n\nJVM stacktrace:")[0].strip()


def fetch(spark, text):
    """The last statement's rows as an Arrow table, and its Spark schema.

    `spark.sql(text).toArrow()` makes the server analyse the statement three
    times: once as a SQL command, once for the client's schema request and
    once to run it (2.3 s for the data-quality engine's 10 KB query in a cold
    JVM). Sent as a plain SQL relation and fetched whole, it is analysed once,
    and the server's result stream carries the schema. A client without these
    internals takes the public path."""
    try:
        from pyspark.sql.connect.dataframe import DataFrame
        from pyspark.sql.connect.plan import SQL
        from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema
    except ImportError:
        DataFrame = None
    if DataFrame is None or not hasattr(DataFrame, "_to_table"):
        frame = spark.sql(text)
        return frame.toArrow(), frame.schema
    frame = DataFrame(SQL(text), spark)
    table, schema = frame._to_table()
    if schema is None:
        # Not asked of the server: analysing the relation again would run a command twice.
        schema = from_arrow_schema(table.schema)
    # As toArrow does: the table in the Arrow types Spark's schema maps to.
    return table.cast(to_arrow_schema(schema, error_on_duplicated_field_names_in_struct=True)), schema


def main():
    request = json.load(sys.stdin)
    url = request["url"]
    # The client logs each failed query's JSON to stderr; the error is reported once, by sparkplane.
    logging.getLogger("SQLQueryContextLogger").disabled = True
    # Imported before the wait: a local server's JVM is starting meanwhile, so the client's
    # second or two of imports (grpc, pandas, pyarrow) overlap it instead of following it.
    import pyspark.sql.connect.session  # noqa: F401 - loaded now, used by getOrCreate
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession

    if not wait_for(url, request.get("waitSeconds", 0)):
        emit({"error": {"kind": "unreachable", "message": "nothing answers at the address in the URL"}})
        return

    try:
        spark = SparkSession.builder.remote(url).getOrCreate()
    except Exception as e:  # noqa: BLE001 - every failure is reported
        emit({"error": {"kind": "client", "message": first_paragraph(str(e))}})
        return
    statements = request["statements"]
    try:
        for index, text in enumerate(statements):
            try:
                if index + 1 < len(statements):
                    spark.sql(text)
                    continue
                table, schema = fetch(spark, text)
                fields = schema.fields
                columns = [{"name": f.name, "type": f.dataType.simpleString()} for f in fields]
                rows = [list(row.values()) for row in table.to_pylist()]
                parquet = request.get("parquet")
                if parquet:
                    import pyarrow.parquet as pq

                    partial = parquet + ".partial"
                    pq.write_table(table, partial)
                    os.replace(partial, parquet)
                emit({"columns": columns, "rows": rows})
            except PySparkException as e:
                message = first_paragraph(str(e))
                status = str(getattr(e, "getGrpcStatusCode", lambda: "")() or "")
                if "UNAUTHENTICATED" in status or "UNAUTHENTICATED" in str(e) or "authentication token" in message:
                    emit({"error": {"kind": "unauthenticated", "message": message.splitlines()[-1]}})
                    return
                if "UNAVAILABLE" in status:
                    emit({"error": {"kind": "unreachable", "message": message}})
                    return
                start = None
                contexts = e.getQueryContext() if hasattr(e, "getQueryContext") else []
                for context in contexts or []:
                    try:
                        start = context.startIndex()
                        break
                    except Exception:  # noqa: BLE001 - a context without an index
                        pass
                emit(
                    {
                        "error": {
                            "kind": "sql",
                            "statement": index,
                            "condition": e.getCondition(),
                            "sqlState": e.getSqlState(),
                            "message": message,
                            "startIndex": start,
                        }
                    }
                )
                return
    except Exception as e:  # noqa: BLE001 - every failure is reported
        text = str(e)
        kind = "unauthenticated" if "UNAUTHENTICATED" in text else "client"
        emit({"error": {"kind": kind, "message": first_paragraph(text).splitlines()[-1] if text else repr(e)}})
    finally:
        try:
            spark.stop()
        except Exception:  # noqa: BLE001 - the session may be gone already
            pass


if __name__ == "__main__":
    main()
