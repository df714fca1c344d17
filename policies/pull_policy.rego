# Prod pods start from the image they were approved with: no re-pull on every
# start. Written over input.objects, so it holds both in `sparkplane policy
# check` and in the cluster (Gatekeeper, via `sparkplane policy export gatekeeper`).
package sparkplane.pull_policy

import rego.v1

metadata := {
	"id": "prod-pull-policy",
	"title": "prod pods do not pull their image on every start",
	"rationale": "imagePullPolicy Always makes every prod pod start depend on the registry, and picks up a moved tag",
	"fix": "set spec.image.pullPolicy: IfNotPresent (the prod environment does) and pin the image by digest",
}

deny contains {"msg": msg, "path": "spec.image.pullPolicy"} if {
	input.environment == "prod"
	some obj in input.objects
	obj.kind == "Pod"
	some container in obj.spec.containers
	container.imagePullPolicy == "Always"
	msg := sprintf("container %q of Pod/%s pulls its image on every start (imagePullPolicy: Always)", [container.name, obj.metadata.name])
}
