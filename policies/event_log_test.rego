package sparkplane.event_log_test

import rego.v1

import data.sparkplane.event_log

job(log) := {"metadata": {"name": "etl"}, "spec": {"eventLog": log}}

cases := [
	{"name": "s3a dir", "env": "prod", "log": {"enabled": true, "dir": "s3a://spark-events/prod"}, "warns": 0},
	{"name": "local file dir", "env": "prod", "log": {"enabled": true, "dir": "file:///tmp/events"}, "warns": 1},
	{"name": "disabled", "env": "dev", "log": {"enabled": false, "dir": "s3a://spark-events/dev"}, "warns": 1},
	{"name": "no dir", "env": "staging", "log": {"enabled": true}, "warns": 1},
	{"name": "local runs are exempt", "env": "local", "log": {"enabled": true, "dir": "file:///tmp/events"}, "warns": 0},
]

# Table-driven: every case gives the expected number of warnings.
test_cases if {
	every c in cases {
		count(event_log.warn) == c.warns with input as {"environment": c.env, "job": job(c.log), "objects": []}
	}
}

test_no_job_no_finding if {
	count(event_log.warn) == 0 with input as {"environment": "prod", "objects": []}
}
