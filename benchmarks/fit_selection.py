"""Fit the sentence selection and the abstention on the gold dev split (never the test split).

Usage:
    .venv/bin/python benchmarks/fit_selection.py [--split tests/gold/dev] [--write]
        [--min-confidence-wrong 0.04] [--features-cache FILE]

Builds (or reuses) an index of the split's knowledge folder with the configured model, asks
every question of the split, and fits two logistic regressions (scikit-learn):

- ``sentence``: over the features of each candidate sentence (index/selection.py
  ``FEATURES``), labelled 1 when it matches a gold sentence (the eval's matching rule);
- ``answer``: over the best candidate's answer features (``ANSWER_FEATURES``), labelled
  1 when the question is answerable and the best candidate is gold.

Prints leave-one-document-out figures (quote@1 of the model's cosine ranking alone against
the fitted ranking, and the wrong/declined trade-off of the answer model at thresholds) so a
gain is measured on documents the fit did not see. With ``--write`` the weights go to
index/selection_weights.json (versioned: the version goes up by one) and the chosen
threshold is printed for ``answer.min_confidence`` in config.yaml and index/settings.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np
from _common import ROOT

from bot.config import load_config
from index.answer import (
    answer_features,
    answer_passages,
    rank_sentences,
)
from index.embedding import create_encoder
from index.engine import Engine
from index.evaluate import quote_matches
from index.selection import (
    ANSWER_FEATURES,
    FEATURES,
    WEIGHTS,
    Logistic,
    load_selection_model,
    ranking_key,
)


def read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def open_engine(split: Path, state: Path) -> Engine:
    config = load_config(
        ROOT / "config.yaml",
        overrides={"knowledge_dir": split / "knowledge", "state_dir": state},
    )
    settings = config.engine
    engine = Engine(settings, create_encoder(settings.model))
    engine.reindex()
    return engine


def gathered(engine: Engine, questions: list[dict], passages: int) -> list[dict]:
    """Return, per question, the retrieval and every candidate's features and label."""
    out = []
    for q in questions:
        if q.get("kind") == "summary":
            continue
        history = q.get("history") or []
        found = engine.retrieve(
            q["question"], visibility="internal", context=history[-1] if history else None
        )
        hits = answer_passages(found.hits, passages, found.context)
        ranked = rank_sentences(
            engine.index, found.text, hits, found.context, found.vector, "internal"
        )
        gold = q.get("gold") or []
        out.append(
            {
                "id": q["id"],
                "lang": q["lang"],
                "doc": q.get("source") or "-",
                "answerable": bool(q.get("answerable", True)),
                "top_dense": float(hits[0].dense) if hits else 0.0,
                "rows": [
                    {
                        "features": list(c.features),
                        "cosine": c.semantic,
                        "word": c.word_cover,
                        "char": c.char_cover,
                        "context": c.context_cover,
                        "gold": any(quote_matches(c.text, g) for g in gold),
                    }
                    for c in ranked
                ],
            }
        )
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], c: float) -> Logistic:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(x, y)
    return Logistic(names, tuple(float(w) for w in model.coef_[0]), float(model.intercept_[0]))


def sentence_rows(data: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    rows = [r for q in data if q["answerable"] for r in q["rows"]]
    return (
        np.array([r["features"] for r in rows], dtype=float),
        np.array([r["gold"] for r in rows], dtype=int),
    )


def top_is_gold(q: dict, model: Logistic | None) -> tuple[bool, dict | None]:
    """Return whether the best row (by the model, or by cosine) is gold, and the best row."""
    if not q["rows"]:
        return False, None
    if model is None:
        best = max(q["rows"], key=lambda r: r["cosine"])
    else:
        best = min(
            q["rows"], key=lambda r: ranking_key(r["features"], model.probability(r["features"]))
        )
    return best["gold"], best


def answer_rows(data: list[dict], sentence: Logistic) -> tuple[np.ndarray, np.ndarray]:
    x, y = [], []
    for q in data:
        scored = sorted(
            ((sentence.probability(r["features"]), r) for r in q["rows"]),
            key=lambda pr: ranking_key(pr[1]["features"], pr[0]),
        )
        if not scored:
            continue
        x.append(_answer_vector(q, scored))
        y.append(int(q["answerable"] and scored[0][1]["gold"]))
    return np.array(x, dtype=float), np.array(y, dtype=int)


class _Row:
    """The few fields of a candidate that answer_features reads."""

    def __init__(self, score: float, row: dict) -> None:
        self.score = score
        self.semantic = row["cosine"]
        self.word_cover = row["word"]
        self.char_cover = row["char"]
        self.context_cover = row["context"]
        self.features = row["features"]


class _Top:
    def __init__(self, dense: float) -> None:
        self.dense = dense


def _answer_vector(q: dict, scored: list[tuple[float, dict]]) -> list[float]:
    rows = [_Row(p, r) for p, r in scored[:2]]
    return answer_features(_Top(q["top_dense"]), rows, q["lang"], SETTINGS.confidence)  # type: ignore[arg-type]


def by_document(data: list[dict]) -> list[tuple[list[dict], list[dict]]]:
    """Return (train, held-out) pairs, one per document of the split."""
    docs = sorted({q["doc"] for q in data})
    return [([q for q in data if q["doc"] != d], [q for q in data if q["doc"] == d]) for d in docs]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", type=Path, default=ROOT / "tests" / "gold" / "dev")
    parser.add_argument("--state", type=Path, default=ROOT / ".state" / "fit-selection")
    parser.add_argument("--features-cache", type=Path)
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--passages", type=int, default=SETTINGS.passages)
    parser.add_argument("--wrong", type=float, default=0.05, help="most wrong share of answered")
    parser.add_argument("--declined", type=float, default=0.15, help="most declined_wrongly")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    if "test" in args.split.name:
        sys.exit("refusing to fit on a test split: fit on dev only")

    if args.features_cache and args.features_cache.exists():
        data = json.loads(args.features_cache.read_text())
    else:
        engine = open_engine(args.split, args.state)
        data = gathered(engine, read(args.split / "questions.jsonl"), args.passages)
        if args.features_cache:
            args.features_cache.write_text(json.dumps(data))
    answerable = [q for q in data if q["answerable"]]
    reachable = sum(any(r["gold"] for r in q["rows"]) for q in answerable)
    print(f"questions {len(data)}, answerable {len(answerable)}, gold among candidates {reachable}")

    # Leave one document out: the ranking's quote@1 on documents the fit did not see.
    cos_hits = fit_hits = 0
    held_probs: list[tuple[float, int, bool]] = []  # (answer prob, label, answerable)
    for train, held in by_document(data):
        x, y = sentence_rows(train)
        if y.sum() == 0:
            continue
        sentence = fit_logistic(x, y, FEATURES, args.c)
        xa, ya = answer_rows(train, sentence)
        answer = fit_logistic(xa, ya, ANSWER_FEATURES, args.c)
        for q in held:
            if q["answerable"]:
                cos_hits += top_is_gold(q, None)[0]
                fit_hits += top_is_gold(q, sentence)[0]
            xh, yh = answer_rows([q], sentence)
            if len(xh):
                held_probs.append((answer.probability(list(xh[0])), int(yh[0]), q["answerable"]))
    n = len(answerable)
    print(
        f"held-out quote@1 (best candidate, before abstention): cosine alone {cos_hits / n:.3f},"
        f" fitted {fit_hits / n:.3f}  (n={n})"
    )
    threshold = report_thresholds(held_probs, n, args.wrong, args.declined)

    x, y = sentence_rows(data)
    sentence = fit_logistic(x, y, FEATURES, args.c)
    xa, ya = answer_rows(data, sentence)
    answer = fit_logistic(xa, ya, ANSWER_FEATURES, args.c)
    for name, model in (("sentence", sentence), ("answer", answer)):
        print(f"{name}: bias {model.bias:+.3f}")
        for f, w in zip(model.features, model.weights, strict=True):
            print(f"  {f:12s} {w:+.3f}")
    if args.write:
        old = load_selection_model()
        payload = {
            "version": old.version + 1,
            "fitted": {
                "split": str(args.split.relative_to(ROOT)),
                "questions": len(data),
                "date": date.today().isoformat(),
                "command": "benchmarks/fit_selection.py --write",
                "min_confidence": threshold,
            },
            "sentence": _as_json(sentence),
            "answer": _as_json(answer),
        }
        WEIGHTS.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS} version {payload['version']}; min_confidence {threshold}")


def _as_json(model: Logistic) -> dict:
    return {
        "features": list(model.features),
        "weights": [round(w, 5) for w in model.weights],
        "bias": round(model.bias, 5),
    }


def report_thresholds(
    probs: list[tuple[float, int, bool]], answerable: int, wrong: float, declined: float
) -> float:
    """Print wrong / declined at thresholds on held-out probabilities; return the chosen one.

    The choice: the lowest threshold whose wrong share of answered is at most ``wrong``,
    if one declines at most ``declined`` of the answerable questions; otherwise the highest
    threshold that declines at most ``declined`` (the fewest wrong answers at that cost).
    """
    rows = []
    print("threshold  answered  wrong/answered  declined_wrongly")
    for t in [i / 100 for i in range(5, 96)]:
        said = [(p, y, a) for p, y, a in probs if p >= t]
        bad = sum(1 for _, y, _ in said if not y)
        missed = sum(1 for p, _, a in probs if a and p < t) / answerable
        share = bad / len(said) if said else 0.0
        rows.append((t, share, missed))
        if round(t * 100) % 5 == 0:
            print(f"{t:9.2f}  {len(said):8d}  {share:14.3f}  {missed:16.3f}")
    good = [t for t, share, missed in rows if share <= wrong and missed <= declined]
    if good:
        return good[0]
    affordable = [t for t, _, missed in rows if missed <= declined]
    chosen = affordable[-1] if affordable else rows[0][0]
    share = next(s for t, s, _ in rows if t == chosen)
    print(
        f"no threshold has wrong <= {wrong} within declined <= {declined}: chose {chosen}"
        f" (wrong {share:.3f} of answered)"
    )
    return chosen


SETTINGS = load_config(ROOT / "config.yaml").engine.answer

if __name__ == "__main__":
    main()
