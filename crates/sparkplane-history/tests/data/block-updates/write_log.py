# Writes one Spark 4.x event log with block updates logged
# (spark.eventLog.logBlockUpdates.enabled=true) for sparkplane-history's
# storage/rdd test: one RDD cached in memory, one persisted serialized in
# memory and on disk, one cached and then unpersisted. Uncompressed, one file.
import sys
from pyspark import SparkConf, SparkContext, StorageLevel

out = sys.argv[1]
conf = (SparkConf().setMaster("local[2]").setAppName("block-updates")
        .set("spark.eventLog.enabled", "true").set("spark.eventLog.dir", "file://" + out)
        .set("spark.eventLog.logBlockUpdates.enabled", "true")
        .set("spark.eventLog.rolling.enabled", "false").set("spark.eventLog.compress", "false")
        .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1"))
sc = SparkContext(conf=conf)
cached = sc.parallelize(range(4000), 4).map(lambda x: (x % 13, x)).setName("cached-in-memory").cache()
cached.count()
both = sc.parallelize(range(3000), 3).map(lambda x: x * 2).setName("memory-and-disk-ser")
both.persist(StorageLevel.MEMORY_AND_DISK)
both.count()
gone = sc.parallelize(range(100), 2).setName("unpersisted").cache()
gone.count()
gone.unpersist(blocking=True)
cached.reduceByKey(lambda a, b: a + b).collect()
sc.stop()
