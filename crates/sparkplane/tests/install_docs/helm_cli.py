"""`helm install|upgrade NAME CHART --namespace NS [--create-namespace] [--set k=v]...` for the
install page's test (crates/sparkplane/tests/it/release_artifacts.rs): the command line docs/install.md
uses, handed to Helm v4's own library (PyPI helm-sdkpy, installed by need_helm) — there is no helm
binary here. The cluster is the one $KUBECONFIG names. Anything else it is given is refused (exit 2).
"""

import asyncio
import os
import sys

import helm_sdkpy


def parse(argv):
    if len(argv) < 3 or argv[0] not in ("install", "upgrade"):
        sys.exit(f"helm (test shim): only `install|upgrade NAME CHART ...` is handled, not {argv}")
    action, name, chart = argv[0], argv[1], argv[2]
    namespace, create, values = "default", False, {}
    rest = argv[3:]
    while rest:
        flag = rest.pop(0)
        if flag in ("--namespace", "-n"):
            namespace = rest.pop(0)
        elif flag == "--create-namespace":
            create = True
        elif flag == "--set":
            key, value = rest.pop(0).split("=", 1)
            node = values
            parts = key.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        else:
            print(f"helm (test shim): unknown flag {flag}", file=sys.stderr)
            sys.exit(2)
    return action, name, chart, namespace, create, values


def main():
    action, name, chart, namespace, create, values = parse(sys.argv[1:])
    config = helm_sdkpy.Configuration(namespace=namespace, kubeconfig=os.environ["KUBECONFIG"])
    if action == "install":
        run = helm_sdkpy.Install(config).run(
            name, chart, values=values, create_namespace=create, wait=False, timeout=120, server_side_apply=True
        )
    else:
        run = helm_sdkpy.Upgrade(config).run(name, chart, values=values, wait=False, timeout=120, server_side_apply=True)
    result = asyncio.run(run)
    print(f"{action}: {result.get('name')} revision {result.get('version')} {result.get('info', {}).get('status')}")


main()
