# Writes the Spark event logs sparkplane-history's tests give to History
# Servers, with the runtime's own pyspark (3.5 or 4.1):
#
#   python write_logs.py OUT_DIR [APP ...]
#
# Without APP names it writes the four applications the parity test
# (tests/it/spark_history_parity.rs) gives to both History Servers; the web UI
# test (tests/it/ui_spark_chromium.rs) takes `succeeded` and `failed` from the
# parity set and writes `sql` itself.
#   succeeded     parity-succeeded: several executors (local-cluster), zstd
#                 rolling log, a shuffle reused by a second job (its map stage
#                 skipped), a cached RDD;
#   lz4           parity-lz4: local[2], lz4 single-file log, the same work,
#                 then SQL: a sort-merge join with aggregations, an
#                 aggregate joined with itself (a reused exchange), and a
#                 query naming a table that does not exist (no job; Spark 4
#                 records it as a failed execution, Spark 3.5 not at all);
#   failed        parity-failed: several executors, plain log, one job fails:
#                 one task raises while its sibling on the other executor is
#                 still running, and is killed;
#   sql           ui-sql: local[2], plain log, DataFrame and SQL queries with
#                 sort-merge joins and aggregations (adaptive execution on, so
#                 stages are reused and skipped), and one query that fails in
#                 its tasks; with SPARKPLANE_DRIVER_LOGS set, Spark keeps the
#                 driver's log there (spark.driver.log.persistToDfs);
#   skew          ui-skew: local[2], plain log, one job reading a text file
#                 (input records), shuffling it by key (shuffle records) and
#                 writing it out (output records), where key 0 holds ten
#                 times the rows of each other key and each row takes the
#                 same time: the reducing stage's task of partition 0 runs
#                 about ten times its median (tests/it/stage_skew.rs);
#   many          ui-many: local[2], plain rolling log cut at Spark's smallest
#                 part size (10 MiB), so it rolls over into several parts: 105
#                 jobs of one task, more than one page of Spark's jobs table
#                 (100 rows), each with a 56 KB local property;
#   in-progress   parity-in-progress: local[2], plain log, its JVM killed
#                 before the application ends (always written last), with
#                 one task still running: its start written, never its end
#                 (its duration is measured to the log's last modification).
import os, signal, sys, threading, time
from pyspark import SparkConf, SparkContext

out = sys.argv[1]
CLUSTER = "local-cluster[2,1,1024]"


def context_conf(name, master="local[2]", **conf):
    c = (SparkConf().setMaster(master).setAppName(name)
         .set("spark.eventLog.enabled", "true").set("spark.eventLog.dir", "file://" + out)
         .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1")
         .set("spark.executor.memory", "512m"))
    for k, v in conf.items():
        c.set(k.replace("_", "."), v)
    return c


def context(name, master="local[2]", **conf):
    sc = SparkContext(conf=context_conf(name, master, **conf))
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


def succeeded():
    sc = context("parity-succeeded", CLUSTER, spark_eventLog_rolling_enabled="true",
                 spark_eventLog_compress="true", spark_eventLog_compression_codec="zstd")
    work(sc)
    sc.stop()


def lz4():
    sc = context("parity-lz4", spark_eventLog_rolling_enabled="false", spark_eventLog_compress="true",
                 spark_eventLog_compression_codec="lz4")
    work(sc)
    sql_work()
    sc.stop()


def sql_work():
    # On the running context; sort-merge joins (no broadcast), four shuffle partitions.
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.getOrCreate()
    spark.conf.set("spark.sql.shuffle.partitions", "4")
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    spark.range(0, 4000).selectExpr("id % 40 AS customer_id", "id % 13 AS amount").createOrReplaceTempView("orders")
    spark.range(0, 40).selectExpr("id AS customer_id", "concat('region-', id % 4) AS region") \
        .createOrReplaceTempView("customers")
    spark.sql("SELECT region, count(*) AS n, sum(amount) AS revenue FROM orders o JOIN customers c "
              "ON o.customer_id = c.customer_id GROUP BY region ORDER BY region").collect()
    spark.sql("WITH t AS (SELECT customer_id, sum(amount) AS s FROM orders GROUP BY customer_id) "
              "SELECT a.customer_id, a.s, b.s FROM t a JOIN t b ON a.customer_id = b.customer_id + 1").collect()
    try:
        spark.sql("SELECT * FROM parity_no_such_table").collect()
    except Exception:
        pass


def slow_or_bad(index, rows):
    if index == 1:
        time.sleep(1)
        raise ValueError("parity: bad partition 1")
    time.sleep(60)  # still running when its sibling fails: killed
    return rows


def failed():
    sc = context("parity-failed", CLUSTER, spark_task_maxFailures="1", spark_eventLog_rolling_enabled="false",
                 spark_eventLog_compress="false")
    sc.parallelize(range(10), 2).sum()
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


def sql():
    from pyspark.sql import SparkSession
    conf = context_conf("ui-sql", spark_eventLog_rolling_enabled="false", spark_eventLog_compress="false",
                        spark_sql_shuffle_partitions="4", spark_sql_autoBroadcastJoinThreshold="-1")
    driver_logs = os.environ.get("SPARKPLANE_DRIVER_LOGS")
    if driver_logs:
        conf.set("spark.driver.log.persistToDfs.enabled", "true").set("spark.driver.log.dfsDir", "file://" + driver_logs)
    spark = SparkSession.builder.config(conf=conf).getOrCreate()
    orders = spark.range(0, 20000).selectExpr("id AS order_id", "id % 50 AS customer_id", "id % 13 AS amount")
    customers = spark.range(0, 50).selectExpr("id AS customer_id", "concat('region-', id % 5) AS region")
    orders.createOrReplaceTempView("orders")
    customers.createOrReplaceTempView("customers")
    spark.sparkContext.setJobDescription("revenue by region: a sort-merge join, then an aggregation")
    spark.sql("SELECT region, count(*) AS n, sum(amount) AS revenue FROM orders o JOIN customers c "
              "ON o.customer_id = c.customer_id GROUP BY region ORDER BY region").collect()
    spark.sparkContext.setJobDescription("neighbours: an aggregate joined with itself")
    spark.sql("WITH t AS (SELECT customer_id, sum(amount) AS s FROM orders GROUP BY customer_id) "
              "SELECT a.customer_id, a.s, b.s FROM t a JOIN t b ON a.customer_id = b.customer_id + 1").collect()
    spark.sparkContext.setJobDescription("a query whose tasks fail")
    try:
        spark.sql("SELECT customer_id, raise_error(concat('ui: bad customer ', customer_id)) FROM customers "
                  "WHERE customer_id = 7").collect()
    except Exception:
        pass
    spark.sparkContext.setJobDescription(None)
    spark.stop()


def skew():
    import shutil, tempfile
    sc = context("ui-skew", spark_eventLog_rolling_enabled="false", spark_eventLog_compress="false")
    data = tempfile.mkdtemp(prefix="sparkplane-skew-")
    try:
        # Per 17 numbers, 10 go to key 0 and one to each of keys 1..7.
        sc.parallelize(range(17 * 300), 4).map(str).saveAsTextFile(data + "/in")
        key = lambda x: 0 if x % 17 < 10 else 1 + x % 17 - 10

        def slow(rows):
            for row in rows:
                time.sleep(0.001)
                yield "%d,%d" % row

        # Python's hash of a small int is itself: key k goes to partition k of 8.
        (sc.textFile(data + "/in", 4).map(lambda line: (key(int(line)), int(line)))
           .partitionBy(8).mapPartitions(slow).saveAsTextFile(data + "/out"))
    finally:
        sc.stop()
        shutil.rmtree(data, ignore_errors=True)


def many():
    sc = context("ui-many", spark_eventLog_rolling_enabled="true", spark_eventLog_compress="false",
                 spark_eventLog_rolling_maxFileSize="10m")
    # Each job carries a 56 KB local property (as a long SQL text does), written with its job's
    # and its stage's start: the log crosses 10 MiB without thousands of tasks.
    sc.setLocalProperty("sparkplane.test.query", "SELECT 1 -- " + "x" * 56000)
    # The jobs run in the JVM alone (a range counted by Scala's SparkContext, no Python worker):
    # 105 jobs in about 10 s, where a Python job each took about 40 s in all.
    jvm = sc._jsc.sc()
    for job in range(105):
        sc.setJobDescription("job %d of 105" % job)
        jvm.range(0, 10, 1, 1).count()
    sc.stop()


def in_progress():
    # Left in progress: the JVM is killed before the application ends.
    sc = context("parity-in-progress", spark_eventLog_rolling_enabled="false", spark_eventLog_compress="false")
    work(sc)

    def long_job():
        try:
            sc.parallelize([0], 1).map(lambda x: time.sleep(600) or x).collect()
        except Exception:
            pass

    # One task left running, on one of the two slots: started, never ended.
    threading.Thread(target=long_job, daemon=True).start()
    tracker = sc._jsc.sc().statusTracker()
    deadline = time.time() + 60
    while not any(e.numRunningTasks() > 0 for e in tracker.getExecutorInfos()):
        if time.time() > deadline:
            raise SystemExit("parity-in-progress: the long task did not start within 60 s")
        time.sleep(0.2)
    # A task's start is not flushed to the log on its own; a job's start and end are, with what came before.
    sc.parallelize(range(10), 1).sum()
    # The event log is written by its own listener queue and flushed at each job's
    # and stage's end: wait until the file holds the last job's end and the long
    # task's start (every job ended but the long one, every task but the long
    # one), so the log is cut there rather than at a random point mid-stage —
    # a fixed pause was too short on a loaded machine.
    log = os.path.join(out, sc.applicationId + ".inprogress")
    deadline = time.time() + 120
    while True:
        text = open(log, encoding="utf-8", errors="replace").read() if os.path.exists(log) else ""
        count = lambda event: text.count('"Event":"' + event + '"')
        jobs_left = count("SparkListenerJobStart") - count("SparkListenerJobEnd")
        tasks_left = count("SparkListenerTaskStart") - count("SparkListenerTaskEnd")
        if jobs_left == 1 and tasks_left == 1 and text.endswith("\n"):
            break
        if time.time() > deadline:
            raise SystemExit("parity-in-progress: the log did not reach the last job's end within 120 s")
        time.sleep(0.2)
    pid = sc._gateway.proc.pid
    os.kill(pid, signal.SIGKILL)
    os._exit(0)


APPS = {"succeeded": succeeded, "lz4": lz4, "failed": failed, "sql": sql, "skew": skew, "many": many, "in-progress": in_progress}
asked = sys.argv[2:] or ["succeeded", "lz4", "failed", "in-progress"]
unknown = [a for a in asked if a not in APPS]
if unknown:
    raise SystemExit(f"unknown application(s) {unknown}; known: {list(APPS)}")
for name in APPS:  # in this order: in-progress ends the process
    if name in asked:
        APPS[name]()
