"""Validates OpenLineage run events (a JSON array on stdin) with openlineage-python's models.

Each event is rebuilt from the package's generated classes, whose validators
check the event time, run id (UUID), producer and schema URLs; the facets are
rebuilt from their own classes. The rebuilt event, serialised by the package,
must equal the input: so no field is unknown, misspelt or missing, and every
schemaURL is the one the package's models carry. Prints "ok N" or exits 1.
"""

import json
import sys

from openlineage.client.generated import base
from openlineage.client.generated.error_message_run import ErrorMessageRunFacet
from openlineage.client.generated.job_type_job import JobTypeJobFacet
from openlineage.client.generated.processing_engine_run import ProcessingEngineRunFacet
from openlineage.client.generated.schema_dataset import SchemaDatasetFacet, SchemaDatasetFacetFields
from openlineage.client.serde import Serde

RUN_FACETS = {"errorMessage": ErrorMessageRunFacet, "processing_engine": ProcessingEngineRunFacet}
JOB_FACETS = {"jobType": JobTypeJobFacet}


def facet(cls, data, **extra):
    fields = {k: v for k, v in data.items() if not k.startswith("_")}
    fields.update(extra)
    return cls(**fields, producer=data["_producer"])


def dataset(cls, data):
    facets = {}
    for name, value in data.get("facets", {}).items():
        if name != "schema":
            raise ValueError(f"unexpected dataset facet {name}")
        fields = [SchemaDatasetFacetFields(**f) for f in value["fields"]]
        facets[name] = facet(SchemaDatasetFacet, value, fields=fields)
    return cls(namespace=data["namespace"], name=data["name"], facets=facets)


def rebuild(event):
    run = base.Run(
        runId=event["run"]["runId"],
        facets={k: facet(RUN_FACETS[k], v) for k, v in event["run"]["facets"].items()},
    )
    job = base.Job(
        namespace=event["job"]["namespace"],
        name=event["job"]["name"],
        facets={k: facet(JOB_FACETS[k], v) for k, v in event["job"]["facets"].items()},
    )
    return base.RunEvent(
        eventType=base.EventType(event["eventType"]),
        eventTime=event["eventTime"],
        run=run,
        job=job,
        inputs=[dataset(base.InputDataset, d) for d in event["inputs"]],
        outputs=[dataset(base.OutputDataset, d) for d in event["outputs"]],
        producer=event["producer"],
    )


def normal(value):
    """Drops empty maps and lists, which the package's serialiser leaves out or keeps inconsistently."""
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [normal(v) for v in value]
    return value


def main():
    events = json.load(sys.stdin)
    for i, event in enumerate(events):
        again = Serde.to_dict(rebuild(event))
        if normal(again) != normal(event):
            print(f"event {i} differs after a round trip through openlineage-python:")
            print(json.dumps(normal(event), sort_keys=True))
            print(json.dumps(normal(again), sort_keys=True))
            sys.exit(1)
    print(f"ok {len(events)}")


main()
