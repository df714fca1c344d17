"""Writes the event log of one SQL execution whose plan has thousands of
operators, for the web UI benchmark's large-plan measurement.

    python3 bench/history/make_plan.py OUT_FILE [SCANS]

The plan is a Union of SCANS (default 3,000) filtered Parquet scans, each
operator with a row-count metric: 2 × SCANS + 1 operators (6,001). The same
shape the web UI test draws (crates/sparkplane-history/tests/it/ui_chromium.rs).
"""
import json
import sys


def main(out, scans):
    children = [{"nodeName": "Filter", "simpleString": f"Filter (id#{i} > 0)",
                 "metrics": [{"name": "number of output rows", "accumulatorId": 20_000 + i, "metricType": "sum"}],
                 "children": [{"nodeName": "Scan parquet", "simpleString": f"FileScan parquet t{i}", "children": [],
                               "metrics": [{"name": "number of output rows", "accumulatorId": 10_000 + i,
                                            "metricType": "sum"}]}]}
                for i in range(scans)]
    plan = {"nodeName": "Union", "simpleString": "Union", "metrics": [], "children": children}
    events = [
        {"Event": "SparkListenerApplicationStart", "App Name": "plan", "App ID": "local-1700000000000",
         "Timestamp": 1700000000000, "User": "u"},
        {"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart", "executionId": 0,
         "description": f"a union of {scans:,} tables", "details": "", "physicalPlanDescription": "",
         "sparkPlanInfo": plan, "time": 1700000000100},
        {"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd", "executionId": 0,
         "time": 1700000009000},
        {"Event": "SparkListenerApplicationEnd", "Timestamp": 1700000010000},
    ]
    with open(out, "w") as f:
        for e in events:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3000)
