"""Pages through ConfigMaps with the Python Kubernetes client (PyPI `kubernetes`).

Run by tests/it/lifecycle_clients.rs as `python pages_client.py KUBECONFIG NAMESPACE`.
Prints one JSON object per line per step; between steps it waits for a line
on stdin, so the test can change the fake in between. Any exception other
than the expected 410 ends the script non-zero with its traceback on stderr.
"""

import json
import sys

from kubernetes import client, config


def emit(**observed):
    print(json.dumps(observed, sort_keys=True), flush=True)


def page(listed):
    return {
        "names": [item.metadata.name for item in listed.items],
        "resourceVersion": listed.metadata.resource_version,
        "remaining": listed.metadata.remaining_item_count,
    }


def main():
    kubeconfig, namespace = sys.argv[1], sys.argv[2]
    config.load_kube_config(config_file=kubeconfig)
    core = client.CoreV1Api()

    first = core.list_namespaced_config_map(namespace, limit=2)
    emit(**page(first))
    sys.stdin.readline()

    second = core.list_namespaced_config_map(namespace, limit=2, _continue=first.metadata._continue)
    emit(**page(second))
    sys.stdin.readline()

    try:
        core.list_namespaced_config_map(namespace, limit=2, _continue=second.metadata._continue)
        emit(status=200)
        return
    except client.exceptions.ApiException as e:
        body = json.loads(e.body)
        emit(status=e.status, body=body)
    rest = core.list_namespaced_config_map(namespace, limit=2, _continue=body["metadata"]["continue"])
    emit(**page(rest))


if __name__ == "__main__":
    main()
