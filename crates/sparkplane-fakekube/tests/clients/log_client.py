"""A driver pod's log read whole and by its last lines with the Python
Kubernetes client (PyPI `kubernetes`), as tests/it/real_clients.rs runs it:
`python log_client.py KUBECONFIG NAMESPACE POD`.

Prints one JSON object a line: the log as each call answered it. A failed
call ends the script non-zero with its traceback on stderr.
"""

import json
import sys

from kubernetes import client, config

kubeconfig, namespace, pod = sys.argv[1:4]
config.load_kube_config(config_file=kubeconfig)
core = client.CoreV1Api()
for tail in (None, 1, 3):
    text = core.read_namespaced_pod_log(pod, namespace, tail_lines=tail)
    print(json.dumps({"tail": tail, "log": text}))
