"""Reads the API server's group discovery with the Python Kubernetes client
and prints, for GROUP, its versions in order and its preferred version as
one JSON line; then lists the kind KIND (plural PLURAL) at VERSION through the
dynamic client, which finds it by discovery, and prints how many there are.

Usage: discovery_client.py KUBECONFIG GROUP VERSION KIND NAMESPACE
"""
import json
import sys

from kubernetes import client, config, dynamic

kubeconfig, group, version, kind, namespace = sys.argv[1:6]
api_client = config.new_client_from_config(config_file=kubeconfig)
groups = client.ApisApi(api_client).get_api_versions().groups
found = next(g for g in groups if g.name == group)
print(json.dumps({
    "step": "group",
    "versions": [v.version for v in found.versions],
    "preferred": found.preferred_version.version,
}))
resources = dynamic.DynamicClient(api_client).resources.get(api_version=f"{group}/{version}", kind=kind)
listed = resources.get(namespace=namespace)
print(json.dumps({"step": "list", "count": len(listed.items)}))
