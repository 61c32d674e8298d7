"""Retrieval and answer metrics, and the whole dev set with the real model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from index.engine import Engine, EngineSettings


def test_eval_metrics_rank_one_relevant_document():
    from index.evaluate import retrieval_scores

    assert retrieval_scores(["a", "b"], "a") == {
        "hit@1": 1.0,
        "hit@5": 1.0,
        "mrr@10": 1.0,
        "ndcg@10": 1.0,
    }
    second = retrieval_scores(["x", "a"], "a")
    assert second["hit@1"] == 0.0 and second["mrr@10"] == 0.5
    assert np.isclose(second["ndcg@10"], 1 / np.log2(3))
    assert retrieval_scores(["x"] * 10, "a")["ndcg@10"] == 0.0


@pytest.mark.integration
def test_real_model_answers_every_dev_question(real_encoder, tmp_path):
    """The shipped knowledge base with the packaged MiniLM passes the whole dev set."""
    from index.evaluate import evaluate, load_questions, passed
    from tests.conftest import ROOT, SHARED

    path = SHARED / "eval" / "dev-questions.jsonl"
    if not path.is_file():
        pytest.skip("shared dev questions not present")
    settings = EngineSettings(knowledge_dir=ROOT / "knowledge", index_dir=tmp_path / "index")
    engine = Engine(replace(settings), real_encoder)
    engine.reindex()
    report = evaluate(engine, load_questions(path))
    assert passed(report), report["failures"]
    assert report["answers"]["all"]["accuracy"] == 1.0
    assert report["abstention"]["all"]["accuracy"] == 1.0
