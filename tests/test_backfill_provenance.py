"""Every committed record carries threads, precision and the data's SHA-256; scripts/backfill_provenance.py fills
them in old records only from what fixes each exactly, and says so."""
import json
import re
import sys
from pathlib import Path

import pytest

from saddle.results import results_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import backfill_provenance  # noqa: E402

RUN = {"id": "r", "config": {"dataset": "fashion-mnist"},
       "provenance": {"device": "cpu (x86_64, 1 threads)", "wall_time_s": 1.0}}


def test_missing_fields_come_from_the_record_itself():
    found = backfill_provenance.missing_fields(RUN, RUN["config"])
    assert found == {"threads": 1, "precision": "fp32", "data_sha256": None}  # the digest: loaded by the caller
    bf16 = {**RUN, "config": {"precision": "bf16"}, "provenance": {**RUN["provenance"], "threads": 2}}
    assert backfill_provenance.missing_fields(bf16, bf16["config"]) == {"precision": "bf16", "data_sha256": None}
    analysis = {"run_id": "r", "provenance": {"device": "cpu (x86_64, 2 threads)"}}
    assert backfill_provenance.missing_fields(analysis, RUN["config"])["threads"] == 2


def test_a_field_nothing_fixes_stops_it():
    with pytest.raises(ValueError, match="no thread count"):
        backfill_provenance.missing_fields({"provenance": {"device": "cuda"}}, RUN["config"])
    with pytest.raises(ValueError, match="no run record"):
        backfill_provenance.missing_fields({"provenance": {"threads": 1, "precision": "fp32"}}, None)


def test_every_committed_record_carries_threads_precision_and_the_datas_digest():
    lacking = []
    for path in sorted(results_dir().glob("*/**/*.json")):
        if "bench" in path.parts or "unfinished" in path.parts:
            continue
        made = json.loads(path.read_text())["provenance"]
        lacking += [f"{path.name}: {field}" for field in ("threads", "precision", "data_sha256") if field not in made]
    assert not lacking, f"{len(lacking)} fields missing, e.g. {lacking[:3]}"


def test_the_appendix_names_the_cpu_runs_trained_on_two_threads():
    """book/appendix_measured.md's count and list of the cpu records that did not run on one thread."""
    runs = [json.loads(p.read_text()) for p in sorted((results_dir() / "cpu").glob("*.json"))]
    named = sorted(f"{r['label']}" + (f" at rho {r['config']['rho']:g}" if r["config"]["optimizer"] == "sam" else "")
                   for r in runs if r["provenance"]["threads"] != 1 and r["config"]["seed"] == 0)
    assert len(named) == sum(r["provenance"]["threads"] != 1 for r in runs) == 2
    text = re.sub(r"\s+", " ", (Path(__file__).resolve().parents[1] / "book" / "appendix_measured.md").read_text())
    assert f"except two early seed-0 runs ({', and '.join(named)}) that ran with two" in text
