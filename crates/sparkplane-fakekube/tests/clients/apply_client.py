"""Server-side apply of a SparkJob by two field managers with the Python
Kubernetes client (PyPI `kubernetes`), as tests/it/real_clients.rs runs it:
`python apply_client.py KUBECONFIG NAMESPACE`.

Prints one JSON object per line per step. An exception other than the
expected 409 ends the script non-zero with its traceback on stderr.
"""

import copy
import json
import sys

from kubernetes import client, config

GROUP, VERSION, PLURAL = "sparkplane.dev", "v1alpha1", "sparkjobs"

JOB = {
    "apiVersion": "sparkplane.dev/v1alpha1",
    "kind": "SparkJob",
    "metadata": {"name": "py-apply"},
    "spec": {
        "type": "Python",
        "sparkVersion": "3.5.1",
        "image": {"repository": "registry.example.com/data/etl", "tag": "1.0"},
        "mainApplicationFile": "local:///opt/app/etl.py",
        "executor": {"instances": 2},
    },
}


def emit(**observed):
    print(json.dumps(observed, sort_keys=True), flush=True)


def owners(job):
    """Each manager's fieldsV1 under spec, by manager and operation."""
    return {
        f"{entry['manager']}/{entry['operation']}": entry["fieldsV1"].get("f:spec", {})
        for entry in job["metadata"].get("managedFields", [])
    }


def main():
    kubeconfig, namespace = sys.argv[1], sys.argv[2]
    config.load_kube_config(config_file=kubeconfig)
    api = client.CustomObjectsApi()

    def apply(body, manager, force=None):
        return api.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, body["metadata"]["name"], body,
            field_manager=manager, force=force, _content_type="application/apply-patch+yaml",
        )

    # An apply that creates answers 201, which this client's generated
    # method does not map to a body (it returns None): read the object.
    apply(JOB, "alice")
    created = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, JOB["metadata"]["name"])
    emit(step="alice", instances=created["spec"]["executor"]["instances"], owners=owners(created))

    five = copy.deepcopy(JOB)
    five["spec"]["executor"]["instances"] = 5
    try:
        apply(five, "bob")
        emit(step="bob", status=200)
    except client.exceptions.ApiException as e:
        emit(step="bob", status=e.status, body=json.loads(e.body))

    forced = apply(five, "bob", force=True)
    emit(step="bob_forced", instances=forced["spec"]["executor"]["instances"], owners=owners(forced))

    # Alice stops sending the instances: they are bob's now, so they stay.
    without = copy.deepcopy(JOB)
    del without["spec"]["executor"]
    kept = apply(without, "alice")
    emit(step="alice_without", instances=kept["spec"].get("executor", {}).get("instances"), owners=owners(kept))


if __name__ == "__main__":
    main()
