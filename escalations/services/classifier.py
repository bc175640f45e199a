"""The intent classifier: TF-IDF (word 1–2-grams + character 2–5-grams, robust to typos) into a logistic
regression, trained from the labelled utterances kept in ``escalations/data/intents.jsonl``.

The model is trained in memory on first use (about a second) and cached for the process; no binary is committed.
The held-out split is by *group*: every utterance carries the id of the hand-written phrase it was derived from,
and a whole group is either in training or held out, so the reported accuracy is on phrasings never seen.
"""

import hashlib
import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "intents.jsonl"
HELD_OUT_BUCKETS = 5  # one group in five is held out for the accuracy report
_lock = threading.Lock()


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    group: str


def load_examples(path: Path = DATA_PATH) -> list[Example]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            if raw.strip():
                obj = json.loads(raw)
                rows.append(Example(obj["text"], obj["intent"], obj.get("group") or obj["text"]))
    return rows


def is_held_out(example: Example) -> bool:
    digest = hashlib.sha256(example.group.encode()).digest()
    return digest[0] % HELD_OUT_BUCKETS == 0


def build_pipeline() -> Pipeline:
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True)),
        ]
    )
    return Pipeline([("features", features), ("model", LogisticRegression(C=8.0, max_iter=2000))])


def train(examples: list[Example]) -> Pipeline:
    pipeline = build_pipeline()
    pipeline.fit([e.text for e in examples], [e.intent for e in examples])
    return pipeline


@lru_cache(maxsize=1)
def _production_model() -> Pipeline:
    return train(load_examples())


def model() -> Pipeline:
    """The model used by triage, trained on every labelled utterance (cached per process, thread-safe)."""
    with _lock:
        return _production_model()


def predict(text: str) -> tuple[str, float, dict[str, float]]:
    """Return (intent, probability, top-3 probabilities) for one utterance."""
    pipeline = model()
    probabilities = pipeline.predict_proba([text])[0]
    labels = pipeline.classes_
    ranked = sorted(zip(labels, probabilities, strict=True), key=lambda p: p[1], reverse=True)
    top = {label: round(float(p), 3) for label, p in ranked[:3]}
    return str(ranked[0][0]), float(ranked[0][1]), top


def evaluate() -> dict:
    """Train on the training groups, score on the held-out groups. Used by the docs and a test floor."""
    examples = load_examples()
    training = [e for e in examples if not is_held_out(e)]
    held_out = [e for e in examples if is_held_out(e)]
    pipeline = train(training)
    predicted = pipeline.predict([e.text for e in held_out])
    per_intent: dict[str, list[int]] = {}
    correct = 0
    for example, guess in zip(held_out, predicted, strict=True):
        hit = int(guess == example.intent)
        correct += hit
        stats = per_intent.setdefault(example.intent, [0, 0])
        stats[0] += hit
        stats[1] += 1
    return {
        "examples": len(examples),
        "training": len(training),
        "held_out": len(held_out),
        "held_out_groups": len({e.group for e in held_out}),
        "accuracy": round(correct / len(held_out), 3),
        "per_intent": {k: round(v[0] / v[1], 3) for k, v in sorted(per_intent.items())},
    }
