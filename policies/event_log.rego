# Jobs outside `local` keep their event logs on durable storage, so `cost`,
# `tune`, `analyze` and the budgets can read them after the pods are gone.
# Written over input.job: checked by the CLI (render, run, submit, policy
# check); in the cluster there is no resolved job, so it never fires there.
package sparkplane.event_log

import rego.v1

metadata := {
	"id": "durable-event-log",
	"title": "event logs go to durable storage",
	"rationale": "cost, budgets, tuning and analysis all read the event log; on a pod's disk it is gone with the pod",
	"fix": "set spec.eventLog.enabled: true and spec.eventLog.dir to s3a://, gs://, abfss:// or hdfs:// storage (the environments do)",
}

durable_schemes := ["s3a://", "s3://", "gs://", "abfss://", "hdfs://"]

durable(log) if {
	object.get(log, "enabled", true) != false
	some scheme in durable_schemes
	startswith(log.dir, scheme)
}

warn contains {"msg": msg, "path": "spec.eventLog"} if {
	input.job
	input.environment != "local"
	not durable(object.get(input.job.spec, "eventLog", {}))
	msg := sprintf("the event log of `%s` is not kept on durable storage", [input.job.metadata.name])
}
