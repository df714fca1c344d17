"""Makes the export benchmark's fleet from one real, uncompressed Spark event log.

    python3 bench/history/make_fleet.py SOURCE OUT_DIR N

N copies of SOURCE as OUT_DIR/local-18NNNNNNNNNNN, each with its own application
id, one of five teams (`spark.sparkplane.team`, as sparkplane's presets set it)
and a start moved by 0 to 27 days: copy i belongs to team i % 5 and starts i % 28
days after SOURCE (every time stamp of the log moves with it, so durations and
costs stay SOURCE's). The 140 team and day variants are made once; each copy is a
variant with its id replaced, so every line is still an event as Spark wrote it.
"""
import json
import os
import sys

TEAMS = ["payments", "search", "ads", "ml", "data-platform"]
DAY_MS = 86_400_000


def shifted(value, start, delta):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value - start) < DAY_MS:
        return value + delta
    if isinstance(value, list):
        return [shifted(v, start, delta) for v in value]
    if isinstance(value, dict):
        return {k: shifted(v, start, delta) for k, v in value.items()}
    return value


def main(source, out, n):
    events = [json.loads(line) for line in open(source) if line.strip()]
    start_event = next(e for e in events if e["Event"] == "SparkListenerApplicationStart")
    app_id, start = start_event["App ID"], start_event["Timestamp"]
    variants = {}
    for team in TEAMS:
        for day in range(28):
            lines = []
            for event in events:
                event = shifted(event, start, day * DAY_MS)
                if event["Event"] == "SparkListenerEnvironmentUpdate":
                    event["Spark Properties"]["spark.sparkplane.team"] = team
                lines.append(json.dumps(event, separators=(",", ":")))
            variants[(team, day)] = "\n".join(lines) + "\n"
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        new_id = f"local-18{i:011d}"
        text = variants[(TEAMS[i % len(TEAMS)], i % 28)]
        with open(os.path.join(out, new_id), "w") as f:
            f.write(text.replace(app_id, new_id))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
