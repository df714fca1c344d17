"""Server-side apply that creates a ConfigMap, with the Python Kubernetes
client (PyPI `kubernetes`), as tests/it/apply_authorization.rs runs it:
`python apply_create_client.py KUBECONFIG NAMESPACE NAME`.

Prints one JSON object: the HTTP status of the apply and, when refused, the
API server's Status body. Any other exception ends the script non-zero with
its traceback on stderr.
"""

import json
import sys

from kubernetes import client, config


def main():
    kubeconfig, namespace, name = sys.argv[1], sys.argv[2], sys.argv[3]
    config.load_kube_config(config_file=kubeconfig)
    api = client.CoreV1Api()
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"mode": "py"}}
    try:
        _, status, _ = api.patch_namespaced_config_map_with_http_info(
            name, namespace, body, field_manager="py-apply", _content_type="application/apply-patch+yaml"
        )
        print(json.dumps({"status": status}, sort_keys=True), flush=True)
    except client.exceptions.ApiException as e:
        print(json.dumps({"status": e.status, "body": json.loads(e.body)}, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
