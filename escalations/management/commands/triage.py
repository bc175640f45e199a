"""``manage.py triage``: JSON Lines in (one message with its conversation and customer context per line), JSON
Lines out (one decision per line). Reads a file or stdin. Lines carrying ``expected_intent`` /
``expected_decision`` are scored; ``--classifier-report`` prints the classifier's held-out accuracy.
Format: docs/TRIAGE.md."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from escalations.services import classifier
from escalations.services.triage import triage_evaluate


class Command(BaseCommand):
    help = "Triage JSONL messages (stdin or a file) and write one JSON decision per line."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default="-", help="JSONL file, or - for stdin (default).")
        parser.add_argument("--reasons", action="store_true", help="Include the structured reasons in the output.")
        parser.add_argument("--classifier-report", action="store_true", help="Print held-out classifier accuracy.")

    def handle(self, *args, path="-", reasons=False, classifier_report=False, **options):
        if classifier_report:
            self.stdout.write(json.dumps(classifier.evaluate()))
            return
        stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
        scored = {"intent": [0, 0], "decision": [0, 0]}
        try:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if not isinstance(row, dict) or not isinstance(row.get("message"), str):
                        raise ValueError("each line must be an object with a 'message' string")
                except ValueError as exc:
                    raise CommandError(f"line {number}: {exc}") from None
                result = triage_evaluate(
                    message=row["message"],
                    history=row.get("history") or [],
                    context=row.get("context") or {},
                    now=_parse_now(row.get("now")),
                )
                out = {
                    "id": row.get("id", number),
                    "intent": result.intent,
                    "confidence": result.confidence,
                    "triggers": result.triggers,
                    "decision": result.decision,
                    "department": result.department,
                    "priority": result.priority,
                    "channel_offer": result.channel_offer,
                    "action": result.action,
                    "answer": result.answer,
                }
                if reasons:
                    out["reasons"] = result.reasons
                for key in ("intent", "decision"):
                    if f"expected_{key}" in row:
                        scored[key][1] += 1
                        scored[key][0] += int(row[f"expected_{key}"] == out[key])
                        out[f"expected_{key}"] = row[f"expected_{key}"]
                self.stdout.write(json.dumps(out, default=str))
        finally:
            if stream is not sys.stdin:
                stream.close()
        for key, (hits, total) in scored.items():
            if total:
                self.stderr.write(f"{key}: {hits}/{total} correct ({hits / total:.1%})")


def _parse_now(value):
    if not value:
        return None
    from escalations.services.triage import _dt

    return _dt(value)
