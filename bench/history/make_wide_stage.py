"""Makes the web UI benchmark's wide stage from one real, uncompressed Spark event log.

    python3 bench/history/make_wide_stage.py SOURCE OUT_FILE TASKS APP_ID

One application: SOURCE's events (bench/history/run.sh's source.json, written
by a real Spark 4.1), with the tasks of its widest stage repeated, with new
task ids and indices, until that stage has at least TASKS tasks (its "Number
of Tasks" raised to match; the stage's other jobs and stages stay SOURCE's),
and its application id set to APP_ID. Every line is still an event as Spark
wrote it. It prints the file's size and the stage's id and task count.
"""
import json
import sys

from make_logs import read_events


def main(source, out, tasks, app_id):
    events = [json.loads(line) for line in read_events(source)]
    old_id = next(e["App ID"] for e in events if e["Event"] == "SparkListenerApplicationStart")
    counts = {}
    for e in events:
        if e["Event"] == "SparkListenerTaskEnd":
            counts[(e["Stage ID"], e["Stage Attempt ID"])] = counts.get((e["Stage ID"], e["Stage Attempt ID"]), 0) + 1
    stage, attempt = max(counts, key=lambda k: (counts[k], -k[0]))
    widen = -(-tasks // counts[(stage, attempt)])
    total = widen * counts[(stage, attempt)]
    next_id = 1 + max(e["Task Info"]["Task ID"] for e in events if "Task Info" in e)
    written = 0
    with open(out, "w") as f:
        def put(event):
            nonlocal written
            line = json.dumps(event, separators=(",", ":")).replace(old_id, app_id) + "\n"
            f.write(line)
            written += len(line)

        def widened(info):
            return dict(info, **{"Number of Tasks": total}) if info.get("Stage ID") == stage else info

        block = [e for e in events if e.get("Stage ID") == stage and e.get("Stage Attempt ID") == attempt
                 and e["Event"] in ("SparkListenerTaskStart", "SparkListenerTaskEnd")]
        n = counts[(stage, attempt)]
        for e in events:
            kind = e["Event"]
            if kind == "SparkListenerJobStart":
                put(dict(e, **{"Stage Infos": [widened(i) for i in e["Stage Infos"]]}))
            elif kind in ("SparkListenerStageSubmitted", "SparkListenerStageCompleted"):
                put(dict(e, **{"Stage Info": widened(e["Stage Info"])}))
            elif e in block:
                if e is block[-1]:
                    # All of the stage's tasks, in waves of SOURCE's tasks: starts, then ends.
                    for w in range(widen):
                        ids = {}
                        for t in block:
                            info = t["Task Info"]
                            if info["Task ID"] not in ids:
                                ids[info["Task ID"]] = next_id
                                next_id += 1
                            info = dict(info, **{"Task ID": ids[info["Task ID"]], "Index": info["Index"] + w * n})
                            if "Partition ID" in info:
                                info["Partition ID"] = info["Index"]
                            put(dict(t, **{"Task Info": info}))
            else:
                put(e)
    print(f"{out}: {written:,} bytes, stage {stage}.{attempt} with {total:,} tasks", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
