"""Helm's own library (PyPI helm-sdkpy, Helm v4's Go library through ctypes) for the chart tests.

Called by crates/sparkplane/tests/it/chart_install.rs; prints one JSON document.

    helm_driver.py lint CHART
    helm_driver.py install KUBECONFIG NAMESPACE RELEASE CHART VALUES_JSON
    helm_driver.py upgrade KUBECONFIG NAMESPACE RELEASE CHART VALUES_JSON
    helm_driver.py validate VERSION[,VERSION...] FILE   (kubernetes-validate, strict)
"""

import asyncio
import json
import os
import sys

# Helm v4's command line applies server-side by default; SPARKPLANE_HELM_APPLY=client tests the other way.
SERVER_SIDE = os.environ.get("SPARKPLANE_HELM_APPLY", "server") == "server"


def lint(chart):
    import helm_sdkpy

    config = helm_sdkpy.Configuration(namespace="default")
    return asyncio.run(helm_sdkpy.Lint(config).run(chart))


def release(action, kubeconfig, namespace, name, chart, values):
    import helm_sdkpy

    config = helm_sdkpy.Configuration(namespace=namespace, kubeconfig=kubeconfig)
    values = json.loads(values) if values else None
    try:
        if action == "install":
            result = asyncio.run(
                helm_sdkpy.Install(config).run(
                    name,
                    chart,
                    values=values,
                    create_namespace=True,
                    wait=False,
                    timeout=120,
                    server_side_apply=SERVER_SIDE,
                )
            )
        else:
            result = asyncio.run(
                helm_sdkpy.Upgrade(config).run(
                    name, chart, values=values, wait=False, timeout=120, server_side_apply=SERVER_SIDE
                )
            )
    except helm_sdkpy.HelmError as error:
        return {"error": str(error)}
    # What the tests read; the rest (the packaged chart) is large.
    return {key: result.get(key) for key in ("name", "version", "manifest", "apply_method", "info")}


def validate(versions, path):
    import kubernetes_validate
    import yaml

    problems = []
    with open(path, encoding="utf-8") as handle:
        documents = [d for d in yaml.safe_load_all(handle) if d]
    for version in versions.split(","):
        for document in documents:
            where = f"{document.get('kind')}/{document.get('metadata', {}).get('name')} on {version}"
            try:
                kubernetes_validate.validate(document, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{where}: {error.message} at {'.'.join(str(p) for p in error.path)}")
            except Exception as error:  # an unknown kind or version is a problem too
                problems.append(f"{where}: {type(error).__name__}: {error}")
    return {"documents": len(documents), "problems": problems}


def main(argv):
    command = argv[1]
    if command == "lint":
        out = lint(argv[2])
    elif command in ("install", "upgrade"):
        out = release(command, *argv[2:7])
    elif command == "validate":
        out = validate(argv[2], argv[3])
    else:
        raise SystemExit(f"unknown command {command}")
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main(sys.argv)
