"""Makes the History Server benchmark's inputs from one real Spark event log.

    python3 bench/history/make_logs.py copies SOURCE OUT_DIR N
        N copies of SOURCE (an uncompressed single-file log), each with its own
        application id (`local-18000000NNNNN`), written as OUT_DIR/<id>.
    python3 bench/history/make_logs.py large SOURCE OUT_FILE MIN_BYTES
        One application whose every stage has SOURCE's tasks repeated (new task
        ids and indices, the stage's task count raised to match) and whose
        jobs are repeated (new job and stage ids) until the log is at least
        MIN_BYTES long; header and end events are SOURCE's own.

    python3 bench/history/make_logs.py wide SOURCE OUT_DIR N TIMES
        N copies of SOURCE as `copies` makes them, each stage's tasks repeated
        TIMES times (new task ids and indices, the stage's task count raised to
        match): the same applications with TIMES as many tasks, to show what a
        listing holds per application does not grow with its tasks.

SOURCE is written by a real Spark (bench/history/run.sh uses the 4.1 runtime
and tests/data/cross-check/write_logs.py); only ids, indices and counts are
changed, so every line is an event as Spark writes it.
"""
import json
import os
import sys


def read_events(path):
    with open(path) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def copies(source, out, n):
    lines = read_events(source)
    app_id = next(json.loads(l)["App ID"] for l in lines if '"SparkListenerApplicationStart"' in l)
    text = "\n".join(lines) + "\n"
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        new_id = f"local-18{i:011d}"
        with open(os.path.join(out, new_id), "w") as f:
            f.write(text.replace(app_id, new_id))


def large(source, out, min_bytes):
    events = [json.loads(l) for l in read_events(source)]
    first_job = next(i for i, e in enumerate(events) if e["Event"] == "SparkListenerJobStart")
    last_job = max(i for i, e in enumerate(events) if e["Event"] == "SparkListenerJobEnd")
    header, block, footer = events[:first_job], events[first_job:last_job + 1], events[last_job + 1:]
    tasks = {}  # stage id -> number of tasks in the source
    for e in block:
        if e["Event"] == "SparkListenerStageSubmitted":
            tasks[e["Stage Info"]["Stage ID"]] = e["Stage Info"]["Number of Tasks"]
    jobs = 1 + max(e["Job ID"] for e in block if "Job ID" in e)
    stages = 1 + max(s for e in block for s in e.get("Stage IDs", []))
    # Tasks per stage: about 10,000 for the largest source stage.
    widen = max(1, 10_000 // max(tasks.values()))

    def stage_info(info, rep):
        info = dict(info)
        sid = info["Stage ID"]
        info["Stage ID"] = sid + rep * stages
        info["Number of Tasks"] = info["Number of Tasks"] * widen
        info["Parent IDs"] = [p + rep * stages for p in info.get("Parent IDs", [])]
        return info

    written = 0
    next_task = 0
    with open(out, "w") as f:
        def put(event):
            nonlocal written
            line = json.dumps(event, separators=(",", ":")) + "\n"
            f.write(line)
            written += len(line)

        for e in header:
            put(e)
        rep = 0
        while written < min_bytes:
            task_ids = {}
            for e in block:
                kind = e["Event"]
                if kind == "SparkListenerJobStart":
                    e = dict(e, **{"Job ID": e["Job ID"] + rep * jobs,
                                   "Stage IDs": [s + rep * stages for s in e["Stage IDs"]],
                                   "Stage Infos": [stage_info(i, rep) for i in e["Stage Infos"]]})
                    put(e)
                elif kind == "SparkListenerJobEnd":
                    put(dict(e, **{"Job ID": e["Job ID"] + rep * jobs}))
                elif kind in ("SparkListenerStageSubmitted", "SparkListenerStageCompleted"):
                    put(dict(e, **{"Stage Info": stage_info(e["Stage Info"], rep)}))
                elif kind in ("SparkListenerTaskStart", "SparkListenerTaskEnd"):
                    sid = e["Stage ID"]
                    for w in range(widen):
                        key = (sid, e["Task Info"]["Task ID"], w)
                        if key not in task_ids:
                            task_ids[key] = next_task
                            next_task += 1
                        info = dict(e["Task Info"], **{"Task ID": task_ids[key],
                                                       "Index": e["Task Info"]["Index"] + w * tasks.get(sid, 0)})
                        if "Partition ID" in info:
                            info["Partition ID"] = info["Index"]
                        put(dict(e, **{"Stage ID": sid + rep * stages, "Task Info": info}))
                else:
                    put(e)
            rep += 1
        for e in footer:
            put(e)
    print(f"{out}: {written:,} bytes, {rep} repetitions of {jobs} jobs, {next_task:,} tasks", file=sys.stderr)


def wide(source, out, n, times):
    lines = read_events(source)
    events = [json.loads(l) for l in lines]
    app_id = next(e["App ID"] for e in events if e["Event"] == "SparkListenerApplicationStart")
    next_task = 1 + max((e["Task Info"]["Task ID"] for e in events if "Task Info" in e), default=0)
    tasks = {}  # stage id -> number of tasks in the source
    for e in events:
        if e["Event"] == "SparkListenerStageSubmitted":
            tasks[e["Stage Info"]["Stage ID"]] = e["Stage Info"]["Number of Tasks"]
    ids = {}
    out_lines = []

    def scaled(info):
        return dict(info, **{"Number of Tasks": info["Number of Tasks"] * times})

    for e in events:
        kind = e["Event"]
        if kind == "SparkListenerJobStart":
            e = dict(e, **{"Stage Infos": [scaled(i) for i in e.get("Stage Infos", [])]})
        elif kind in ("SparkListenerStageSubmitted", "SparkListenerStageCompleted"):
            e = dict(e, **{"Stage Info": scaled(e["Stage Info"])})
        elif kind in ("SparkListenerTaskStart", "SparkListenerTaskEnd"):
            for w in range(times):
                key = (e["Task Info"]["Task ID"], w)
                if w > 0 and key not in ids:
                    ids[key] = next_task
                    next_task += 1
                task_id = e["Task Info"]["Task ID"] if w == 0 else ids[key]
                info = dict(e["Task Info"], **{"Task ID": task_id,
                                               "Index": e["Task Info"]["Index"] + w * tasks.get(e["Stage ID"], 0)})
                out_lines.append(json.dumps(dict(e, **{"Task Info": info}), separators=(",", ":")))
            continue
        out_lines.append(json.dumps(e, separators=(",", ":")))
    text = "\n".join(out_lines) + "\n"
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        new_id = f"local-19{i:011d}"
        with open(os.path.join(out, new_id), "w") as f:
            f.write(text.replace(app_id, new_id))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "copies":
        copies(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "large":
        large(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "wide":
        wide(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(f"unknown mode {mode}: copies, large or wide")
