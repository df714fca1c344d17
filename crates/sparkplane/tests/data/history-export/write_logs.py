# Writes the event logs tests/it/cli_history_export.rs exports beside Spark's own test logs:
# the same job run by two teams (spark.sparkplane.team / costCenter, as sparkplane's presets set
# them), uncompressed single-file logs, each with SQL executions and stages that spill (forced
# by spark.shuffle.spill.numElementsForceSpillThreshold, so a small input spills on any machine).
import sys
from pyspark.sql import SparkSession

out = sys.argv[1]
for team, cost_center in [("payments", "cc-7"), ("search", "cc-9")]:
    spark = (SparkSession.builder.master("local[2]").appName("daily-agg")
             .config("spark.eventLog.enabled", "true").config("spark.eventLog.dir", "file://" + out)
             .config("spark.eventLog.rolling.enabled", "false").config("spark.eventLog.compress", "false")
             .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
             .config("spark.sparkplane.team", team).config("spark.sparkplane.costCenter", cost_center)
             .config("spark.shuffle.spill.numElementsForceSpillThreshold", "2000")
             .config("spark.sql.shuffle.partitions", "2")
             .getOrCreate())
    df = spark.range(0, 20000).selectExpr("id % 13 AS k", "id AS v")
    df.groupBy("k").count().collect()
    df.orderBy(df.v.desc()).collect()
    spark.stop()
