# Writes Spark 4.x event logs: zstd rolling (ok), lz4 single file (ok), a failed application,
# and one left in progress. bench/history/run.sh takes its first (zstd rolling) log as the
# benchmark's source application; the History Server parity test writes its own
# (tests/data/parity/write_logs.py).
import os, signal, sys
from pyspark import SparkConf, SparkContext

out = sys.argv[1]

def context(name, **conf):
    c = (SparkConf().setMaster("local[2]").setAppName(name)
         .set("spark.eventLog.enabled", "true").set("spark.eventLog.dir", "file://" + out)
         .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1"))
    for k, v in conf.items():
        c.set(k.replace("_", "."), v)
    return SparkContext(conf=c)

def work(sc):
    rdd = sc.parallelize(range(2000), 4).map(lambda x: (x % 7, x))
    rdd.reduceByKey(lambda a, b: a + b, 2).collect()
    rdd.cache().count()
    sc.parallelize(range(100), 3).sum()

sc = context("cross-check-zstd-rolling", spark_eventLog_rolling_enabled="true",
             spark_eventLog_compress="true", spark_eventLog_compression_codec="zstd")
work(sc); sc.stop()

sc = context("cross-check-lz4", spark_eventLog_rolling_enabled="false", spark_eventLog_compress="true", spark_eventLog_compression_codec="lz4")
work(sc); sc.stop()

sc = context("cross-check-failed")
sc.parallelize(range(10), 2).sum()
def boom(x):
    if x == 7:
        raise ValueError("cross-check: bad record 7")
    return x
try:
    sc.parallelize(range(10), 2).map(boom).collect()
except Exception:
    pass
sc.stop()

# Left in progress: the JVM is killed before the application ends.
sc = context("cross-check-in-progress", spark_eventLog_rolling_enabled="false")
work(sc)
pid = sc._gateway.proc.pid
os.kill(pid, signal.SIGKILL)
os._exit(0)
