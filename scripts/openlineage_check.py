#!/usr/bin/env python3
"""Loads every line of `cairn export openlineage` output (a file, or stdin) into openlineage-python's event classes
(openlineage.client.event_v2.RunEvent and the ParentRunFacet), serializes each back with the client's Serde, and
prints one JSON summary: event counts by type and, per Cairn run, its event types, parent run, job and datasets.
Exits 1 when a line does not load or does not round-trip."""

import json
import sys

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import parent_run
from openlineage.client.generated.base import RunFacet
from openlineage.client.serde import Serde


def load(event: dict) -> RunEvent:
    facets = {}
    raw_facets = event["run"].get("facets", {})
    if "parent" in raw_facets:
        parent = raw_facets["parent"]
        facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent["run"]["runId"]),
            job=parent_run.Job(namespace=parent["job"]["namespace"], name=parent["job"]["name"]),
            producer=parent["_producer"],
        )
    if "cairn" in raw_facets:
        facets["cairn"] = RunFacet(producer=raw_facets["cairn"]["_producer"])
    return RunEvent(
        eventType=RunState[event["eventType"]],
        eventTime=event["eventTime"],
        run=Run(runId=event["run"]["runId"], facets=facets),
        job=Job(namespace=event["job"]["namespace"], name=event["job"]["name"]),
        inputs=[InputDataset(namespace=d["namespace"], name=d["name"]) for d in event.get("inputs", [])],
        outputs=[OutputDataset(namespace=d["namespace"], name=d["name"]) for d in event.get("outputs", [])],
        producer=event["producer"],
    )


def main() -> int:
    source = open(sys.argv[1], encoding="utf-8") if len(sys.argv) > 1 else sys.stdin
    counts: dict[str, int] = {}
    runs: dict[str, dict] = {}
    problems: list[str] = []
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        raw = json.loads(line)
        try:
            event = load(raw)
        except Exception as exc:  # report which line the client refused
            problems.append(f"line {number}: {exc}")
            continue
        back = Serde.to_dict(event)
        for key in ("eventType", "eventTime", "producer", "schemaURL"):
            if back.get(key) != raw.get(key):
                problems.append(f"line {number}: {key} {back.get(key)!r} != {raw.get(key)!r}")
        if back["run"]["runId"] != raw["run"]["runId"]:
            problems.append(f"line {number}: runId changed")
        kind = back["eventType"]
        counts[kind] = counts.get(kind, 0) + 1
        cairn_id = raw["run"].get("facets", {}).get("cairn", {}).get("runId", raw["run"]["runId"])
        entry = runs.setdefault(cairn_id, {"types": [], "parent": None, "inputs": [], "outputs": []})
        entry["types"].append(kind)
        entry["job"] = back["job"]["name"]
        entry["run_uuid"] = back["run"]["runId"]
        parent = back["run"].get("facets", {}).get("parent")
        if parent:
            entry["parent"] = parent["run"]["runId"]
            entry["parent_job"] = parent["job"]["name"]
        entry["inputs"] = sorted({d["name"] for d in back.get("inputs", [])} | set(entry["inputs"]))
        entry["outputs"] = sorted({d["name"] for d in back.get("outputs", [])} | set(entry["outputs"]))
    json.dump({"counts": counts, "runs": runs, "problems": problems}, sys.stdout)
    sys.stdout.write("\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
