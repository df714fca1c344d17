# Writes the Spark event logs sparkplane-history's parity test
# (tests/spark_history_parity.rs) gives to both History Servers, with the
# runtime's own pyspark (3.5 or 4.1). Four applications:
#   parity-succeeded  several executors (local-cluster), zstd rolling log,
#                     a shuffle reused by a second job (its map stage skipped),
#                     a cached RDD;
#   parity-lz4        local[2], lz4 single-file log, the same work;
#   parity-failed     several executors, plain log, one job fails: one task
#                     raises while its sibling on the other executor is still
#                     running, and is killed;
#   parity-in-progress  local[2], plain log, its JVM killed before the
#                     application ends.
import os, signal, sys, time
from pyspark import SparkConf, SparkContext

out = sys.argv[1]
CLUSTER = "local-cluster[2,1,1024]"


def context(name, master="local[2]", **conf):
    c = (SparkConf().setMaster(master).setAppName(name)
         .set("spark.eventLog.enabled", "true").set("spark.eventLog.dir", "file://" + out)
         .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1")
         .set("spark.executor.memory", "512m"))
    for k, v in conf.items():
        c.set(k.replace("_", "."), v)
    sc = SparkContext(conf=c)
    if master.startswith("local-cluster"):
        # Both executors registered (the driver's block manager is the third entry) before any job runs.
        deadline = time.time() + 120
        while sc._jsc.sc().getExecutorMemoryStatus().size() < 3:
            if time.time() > deadline:
                raise SystemExit(name + ": the two executors did not register within 120 s")
            time.sleep(0.2)
    return sc


def work(sc):
    pairs = sc.parallelize(range(2000), 4).map(lambda x: (x % 7, x))
    sums = pairs.reduceByKey(lambda a, b: a + b, 2)
    sums.collect()
    sums.count()  # reuses the shuffle: this job's map stage is skipped
    pairs.cache().count()
    sc.parallelize(range(100), 3).sum()


sc = context("parity-succeeded", CLUSTER, spark_eventLog_rolling_enabled="true",
             spark_eventLog_compress="true", spark_eventLog_compression_codec="zstd")
work(sc)
sc.stop()

sc = context("parity-lz4", spark_eventLog_rolling_enabled="false", spark_eventLog_compress="true",
             spark_eventLog_compression_codec="lz4")
work(sc)
sc.stop()

sc = context("parity-failed", CLUSTER, spark_task_maxFailures="1", spark_eventLog_rolling_enabled="false",
             spark_eventLog_compress="false")
sc.parallelize(range(10), 2).sum()


def slow_or_bad(index, rows):
    if index == 1:
        time.sleep(1)
        raise ValueError("parity: bad partition 1")
    time.sleep(60)  # still running when its sibling fails: killed
    return rows


try:
    sc.parallelize(range(10), 2).mapPartitionsWithIndex(slow_or_bad).collect()
except Exception:
    pass
# The killed attempt's end reaches the driver once its Python worker is stopped (a few seconds):
# wait until no executor runs a task, so the log holds it.
tracker = sc._jsc.sc().statusTracker()
deadline = time.time() + 60
while any(e.numRunningTasks() > 0 for e in tracker.getExecutorInfos()):
    if time.time() > deadline:
        raise SystemExit("parity-failed: the killed task did not end within 60 s")
    time.sleep(0.2)
sc.stop()

# Left in progress: the JVM is killed before the application ends.
sc = context("parity-in-progress", spark_eventLog_rolling_enabled="false", spark_eventLog_compress="false")
work(sc)
# The event log is written by its own listener queue and flushed at each job's
# and stage's end: give it time to take the last job's end, so the log is cut
# after it rather than at a random point mid-stage (with tasks left running).
time.sleep(3)
pid = sc._gateway.proc.pid
os.kill(pid, signal.SIGKILL)
os._exit(0)
