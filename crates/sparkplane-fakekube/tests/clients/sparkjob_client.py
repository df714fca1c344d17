"""Drives the fake API server with the Python Kubernetes client (PyPI `kubernetes`).

Run by tests/it/real_clients.rs as `python sparkjob_client.py KUBECONFIG NAMESPACE`.
Prints one JSON object per line, one per step, with what the client observed;
the Rust test compares every value. Any exception ends the script non-zero
with its traceback on stderr.
"""

import json
import sys

import kubernetes
from kubernetes import client, config, watch

GROUP, VERSION, PLURAL = "sparkplane.dev", "v1alpha1", "sparkjobs"


def emit(step, **observed):
    print(json.dumps({"step": step, **observed}, sort_keys=True), flush=True)


def brief(job):
    """The fields the steps compare."""
    meta = job["metadata"]
    return {
        "name": meta["name"],
        "namespace": meta.get("namespace"),
        "resourceVersion": meta["resourceVersion"],
        "generation": meta.get("generation"),
        "tag": job["spec"]["image"]["tag"],
        "repository": job["spec"]["image"]["repository"],
        "instances": job["spec"]["executor"]["instances"],
        "state": job.get("status", {}).get("state"),
        "observedGeneration": job.get("status", {}).get("observedGeneration"),
    }


def main():
    kubeconfig, namespace = sys.argv[1], sys.argv[2]
    config.load_kube_config(config_file=kubeconfig)
    api = client.CustomObjectsApi()
    args = (GROUP, VERSION, namespace, PLURAL)
    emit("client", version=kubernetes.__version__)

    job = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "SparkJob",
        "metadata": {"name": "py-etl", "labels": {"team": "data"}},
        "spec": {
            "type": "Python",
            "sparkVersion": "3.5.1",
            "image": {"repository": "registry.example.com/data/etl", "tag": "1.0"},
            "mainApplicationFile": "local:///opt/app/etl.py",
            "executor": {"instances": 2},
        },
    }
    created = api.create_namespaced_custom_object(*args, job)
    emit("create", uid=created["metadata"].get("uid"), **brief(created))

    listed = api.list_namespaced_custom_object(*args, label_selector="team=data")
    emit(
        "list",
        kind=listed["kind"],
        apiVersion=listed["apiVersion"],
        names=[item["metadata"]["name"] for item in listed["items"]],
    )

    # A merge patch: the nested image keeps its repository.
    patched = api.patch_namespaced_custom_object(*args, "py-etl", {"spec": {"image": {"tag": "1.1"}}})
    emit("patch", **brief(patched))

    status = {"status": {"state": "Running", "observedGeneration": 2}}
    with_status = api.patch_namespaced_custom_object_status(*args, "py-etl", status)
    emit("patch_status", **brief(with_status))

    got = api.get_namespaced_custom_object(*args, "py-etl")
    emit("get", **brief(got))

    # A watch from the create's resourceVersion replays the two changes since.
    replay = [
        [event["type"], brief(event["object"])["resourceVersion"], brief(event["object"])["state"]]
        for event in watch.Watch().stream(
            api.list_namespaced_custom_object,
            *args,
            resource_version=created["metadata"]["resourceVersion"],
            timeout_seconds=1,
        )
    ]
    emit("watch_replay", events=replay)

    # A live watch: the object as it is now (ADDED), then the changes this
    # loop makes while the watch is open (MODIFIED, DELETED).
    live = []
    deleted = None
    w = watch.Watch()
    for event in w.stream(api.list_namespaced_custom_object, *args, timeout_seconds=10):
        seen = brief(event["object"])
        live.append([event["type"], seen["resourceVersion"], seen["instances"]])
        if event["type"] == "ADDED":
            api.patch_namespaced_custom_object(*args, "py-etl", {"spec": {"executor": {"instances": 4}}})
        elif event["type"] == "MODIFIED":
            deleted = api.delete_namespaced_custom_object(*args, "py-etl")
        else:
            w.stop()
    emit("watch_live", events=live)
    emit("delete", answer=deleted)

    try:
        api.get_namespaced_custom_object(*args, "missing")
        emit("missing", status=None)
    except client.exceptions.ApiException as e:
        emit("missing", status=e.status, reason=e.reason, body=json.loads(e.body))

    after = api.list_namespaced_custom_object(*args)
    emit("list_after_delete", names=[item["metadata"]["name"] for item in after["items"]])


if __name__ == "__main__":
    main()
