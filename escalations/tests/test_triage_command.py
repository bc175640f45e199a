"""``manage.py triage``: JSONL in, one JSON decision per line out, scored when lines carry expectations."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "triage_samples.jsonl"


def test_the_sample_file_is_triaged_as_labelled():
    out, err = StringIO(), StringIO()

    call_command("triage", str(SAMPLES), "--reasons", stdout=out, stderr=err)

    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 8
    for row in rows:
        assert row["decision"] == row["expected_decision"], row["id"]
        if "expected_intent" in row:
            assert row["intent"] == row["expected_intent"], row["id"]
        assert {"intent", "confidence", "triggers", "decision", "department", "priority", "reasons"} <= set(row)
    by_id = {r["id"]: r for r in rows}
    assert by_id["high-value"]["triggers"] == ["high_value"] and by_id["high-value"]["priority"] == 2
    assert by_id["prime"]["action"]["charge_ids"] == [8]
    assert "intent: 7/7 correct" in err.getvalue() and "decision: 8/8 correct" in err.getvalue()


def test_a_broken_line_names_its_number(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"message": "hi"}\n{not json}\n')

    with pytest.raises(CommandError, match="line 2"):
        call_command("triage", str(path), stdout=StringIO())
