package sparkplane.pull_policy_test

import rego.v1

import data.sparkplane.pull_policy

pod(pull) := {"kind": "Pod", "metadata": {"name": "etl-driver"}, "spec": {"containers": [{"name": "spark", "imagePullPolicy": pull}]}}

test_always_in_prod_is_denied if {
	count(pull_policy.deny) == 1 with input as {"environment": "prod", "objects": [pod("Always")]}
}

test_message_names_the_container if {
	some finding in pull_policy.deny with input as {"environment": "prod", "objects": [pod("Always")]}
	contains(finding.msg, `container "spark" of Pod/etl-driver`)
	finding.path == "spec.image.pullPolicy"
}

test_if_not_present_in_prod_passes if {
	count(pull_policy.deny) == 0 with input as {"environment": "prod", "objects": [pod("IfNotPresent")]}
}

test_always_outside_prod_passes if {
	count(pull_policy.deny) == 0 with input as {"environment": "dev", "objects": [pod("Always")]}
}

test_other_kinds_are_ignored if {
	cm := {"kind": "ConfigMap", "metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "imagePullPolicy": "Always"}]}}
	count(pull_policy.deny) == 0 with input as {"environment": "prod", "objects": [cm]}
}
