"""FHIR export on both engines: bundles parse back, hold exactly one patient's records, resolve
every reference inside themselves, and ``since`` keeps only the newer records."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from bot.export import ExportError, fhir_bundles, write_fhir
from bot.export.panel import patient_records
from outreach.errors import PatientNotFound
from storage.engine import Database
from tests.conftest import FIXED_NOW
from tests.export.conftest import Panel
from tests.export.scenario import ANA_ANSWERS, ANA_PHONE, BEN_PHONE, BEN_REPLY_DAY, PatientRows


async def collect(db: Database, **options: Any) -> dict[str, dict[str, Any]]:
    """Bundles by patient external id, each checked against the R4B models on the way."""
    bundles = {}
    async for data in fhir_bundles(db, **options):
        parsed = Bundle.model_validate(data)
        assert parsed.type == "collection"
        for entry in data["entry"]:
            resource = entry["resource"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        patient = data["entry"][0]["resource"]
        bundles[patient["identifier"][0]["value"]] = data
    return bundles


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node["reference"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def expected_ids(rows: PatientRows) -> dict[str, set[str]]:
    return {
        "QuestionnaireResponse": {f"cb-qr-{c.id}" for c in rows.checkins},
        "Communication": {f"cb-msg-{m.id}" for m in rows.messages},
        "Flag": {f"cb-flag-{e.id}" for e in rows.escalations},
    }


def ids(bundle: dict[str, Any], kind: str) -> set[str]:
    return {r["id"] for r in resources(bundle, kind)}


async def test_each_bundle_holds_its_patient_and_nothing_else(
    panel: Panel, caplog: pytest.LogCaptureFixture
) -> None:
    db, clock, ana, ben = panel.db, panel.clock, panel.ana, panel.ben
    with caplog.at_level(logging.DEBUG):
        bundles = await collect(db, clock=clock)
    assert sorted(bundles) == ["P1", "P2"]
    for rows, other in ((ana, ben), (ben, ana)):
        bundle = bundles[rows.patient.external_id]
        assert bundle["id"] == f"cb-bundle-{rows.patient.id}"
        for kind, wanted in expected_ids(rows).items():
            assert ids(bundle, kind) == wanted, kind
            assert not ids(bundle, kind) & expected_ids(other)[kind]
        bodies = sorted(
            r["payload"][0]["contentString"] for r in resources(bundle, "Communication")
        )
        assert bodies == sorted(m.body for m in rows.messages)
        other_name = other.patient.name.split()[0]
        assert not [body for body in bodies if other_name in body]
        assert any(rows.patient.name.split()[0] in body for body in bodies)
        full_urls = {e["fullUrl"] for e in bundle["entry"]}
        own = f"Patient/cb-pat-{rows.patient.id}"
        for reference in references(bundle):
            assert f"http://127.0.0.1:8000/fhir/{reference}" in full_urls, reference
            assert not reference.startswith("Patient/") or reference == own
    assert len(resources(bundles["P1"], "Flag")) == 1
    assert resources(bundles["P2"], "Flag") == []
    # Names and phones are in the export, never in the logs (SPEC §11).
    logged = " ".join(r.getMessage() for r in caplog.records)
    for secret in ("Ana Lopez", "Ben Okafor", ANA_PHONE, BEN_PHONE):
        assert secret not in logged


async def test_resources_carry_the_mapped_content(panel: Panel) -> None:
    db, clock = panel.db, panel.clock
    bundles = await collect(db, clock=clock, base_url="https://care.example.org/fhir/")
    ana = bundles["P1"]
    (patient,) = resources(ana, "Patient")
    assert patient["identifier"] == [{"system": "urn:carebot:patient", "value": "P1"}]
    assert patient["name"] == [{"text": "Ana Lopez"}]
    assert patient["telecom"] == [{"system": "phone", "value": ANA_PHONE, "use": "mobile"}]
    assert patient["communication"][0]["language"]["coding"][0]["code"] == "en"
    assert ana["entry"][0]["fullUrl"] == f"https://care.example.org/fhir/Patient/{patient['id']}"
    assert ana["timestamp"] == clock.now().isoformat().replace("+00:00", "Z")

    (response,) = resources(ana, "QuestionnaireResponse")
    assert response["status"] == "completed"
    assert response["questionnaire"] == "urn:carebot:program:general"
    items = {item["linkId"]: item for item in response["item"]}
    assert list(items)[:2] == ["general_health", "pain"]
    assert len(items) == len(ANA_ANSWERS)
    assert items["pain"]["text"].startswith("From 0 (no pain) to 10")
    assert items["pain"]["answer"] == [{"valueDecimal": 2.0}]
    assert items["fell"]["answer"] == [{"valueBoolean": False}]
    assert items["anything_else"]["answer"] == [{"valueString": "nothing else thanks"}]

    (ben_response,) = resources(bundles["P2"], "QuestionnaireResponse")
    assert ben_response["status"] == "in-progress"
    weight = ben_response["item"][0]
    assert weight["linkId"] == "weight"
    assert weight["answer"] == [
        {
            "valueQuantity": {
                "value": 182.0,
                "unit": "lb",
                "system": "http://unitsofmeasure.org",
                "code": "[lb_av]",
            }
        }
    ]

    inbound = [c for c in resources(ana, "Communication") if "sender" in c]
    assert [c["payload"][0]["contentString"] for c in inbound] == ANA_ANSWERS
    assert all(c["status"] == "completed" and c["received"] for c in inbound)
    assert all(
        c["about"] == [{"reference": f"QuestionnaireResponse/{response['id']}"}] for c in inbound
    )
    outbound = [c for c in resources(ana, "Communication") if "recipient" in c]
    assert {c["medium"][0]["coding"][0]["code"] for c in outbound} == {"WRITTEN"}

    (flag,) = resources(ana, "Flag")
    assert flag["status"] == "active"
    assert flag["code"]["text"] == "Rates their general health as poor."
    assert flag["code"]["coding"][0]["code"] == "general_health.poor"
    assert flag["period"]["start"] and "end" not in flag["period"]
    assert {"system": "urn:carebot:severity", "code": "routine"} in flag["meta"]["tag"]


async def test_since_keeps_only_newer_records(panel: Panel) -> None:
    db, clock, ben = panel.db, panel.clock, panel.ben
    since = datetime.combine(
        (FIXED_NOW + BEN_REPLY_DAY).date(), datetime.min.time(), FIXED_NOW.tzinfo
    )
    bundles = await collect(db, since=since, clock=clock)
    # Ana has nothing since that day and her record did not change: no bundle for her.
    assert list(bundles) == ["P2"]
    newer = {f"cb-msg-{m.id}" for m in ben.messages if m.created_at >= since}
    assert 0 < len(newer) < len(ben.messages)
    assert ids(bundles["P2"], "Communication") == newer
    # The check-in those messages belong to comes along, so every reference resolves.
    assert ids(bundles["P2"], "QuestionnaireResponse") == {f"cb-qr-{c.id}" for c in ben.checkins}

    # Asked for by name, a patient gets a bundle even with nothing new.
    only_ana = await collect(db, since=since, patient_external_id="P1")
    assert [r["resourceType"] for r in (e["resource"] for e in only_ana["P1"]["entry"])] == [
        "Patient"
    ]
    assert await collect(db, since=since + timedelta(days=30)) == {}
    assert sorted(await collect(db, since=FIXED_NOW - timedelta(days=1))) == ["P1", "P2"]


async def test_writer_files_and_errors(panel: Panel, tmp_path: Path) -> None:
    db, clock, ana = panel.db, panel.clock, panel.ana
    out = tmp_path / "out"
    counts = await write_fhir(db, out, clock=clock)
    assert sorted(p.name for p in out.iterdir()) == ["P1.json", "P2.json"]
    assert (counts.bundles, counts.flags) == (2, 1)
    assert counts.communications == len(ana.messages) + len(panel.ben.messages)
    Bundle.model_validate(json.loads((out / "P1.json").read_text(encoding="utf-8")))

    single = tmp_path / "ana.json"
    one = await write_fhir(db, single, patient_external_id="P1", clock=clock)
    assert one.bundles == 1
    assert json.loads(single.read_text())["id"] == f"cb-bundle-{ana.patient.id}"

    with pytest.raises(ExportError, match="give --patient"):
        await write_fhir(db, tmp_path / "all.json")
    with pytest.raises(PatientNotFound, match="NOPE"):
        await write_fhir(db, out, patient_external_id="NOPE")


async def test_patients_are_read_a_chunk_at_a_time(panel: Panel) -> None:
    seen = [
        (r.patient.external_id, len(r.checkins), len(r.messages))
        async for r in patient_records(panel.db, chunk_size=1)
    ]
    assert seen == [
        ("P1", 1, len(panel.ana.messages)),
        ("P2", 1, len(panel.ben.messages)),
    ]
