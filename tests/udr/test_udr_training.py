"""A short UDR training run on real SST-5 texts lowers the loss, the saved model round-trips, and
it plugs into DenseRetriever with inner-product search."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fewshot.exceptions import InvalidInputError  # noqa: E402
from fewshot.prompt import PromptTemplate  # noqa: E402
from fewshot.retrieve import Corpus, Example  # noqa: E402
from fewshot.udr import (  # noqa: E402
    TrainConfig,
    UDRModel,
    UDRTask,
    load_udr_model,
    prepare_model,
    sample_candidates,
    train_udr,
    udr_loss,
)

TEMPLATE = PromptTemplate(name="sst5", input="Review: {text}\nSentiment:", output=" {label}")


@pytest.fixture(scope="module")
def task(data_dir):
    from shared_data import read_jsonl

    rows = read_jsonl(data_dir / "sst5" / "train.jsonl", 40)
    pool = [Example(id=r["id"], text=r["text"], label=r["label_text"]) for r in rows]
    return UDRTask("sst5", TEMPLATE, pool, pool[:6], "Sentiment of the review: ")


@pytest.fixture(scope="module")
def feedback(task):
    """Feedback with a learnable pattern: a demonstration with the query's label scores best
    (lower NLL), then by label distance, with a little seeded noise."""
    order = ["terrible", "bad", "okay", "good", "great"]
    rng = np.random.default_rng(0)
    fb = {}
    for q in task.queries:
        fb[q.id] = {
            d.id: abs(order.index(d.label) - order.index(q.label)) + 0.1 * rng.random()
            for d in task.pool
            if d.id != q.id
        }
    return {"sst5": fb}


def _fixed_loss(model, task, feedback) -> float:
    """UDR loss of the model on fixed K-lists of every training item (eval mode, no grad)."""
    rng = np.random.default_rng(123)
    qs, cands = [], []
    for q in task.queries:
        s = feedback["sst5"][q.id]
        ranked = sorted(s, key=s.get)
        qs.append(task.instruction + q.text)
        cands += [task.instruction + task.demo(c).text for c in sample_candidates(ranked, 8, rng=rng)]
    with torch.no_grad():
        emb = model.encode(qs + cands, convert_to_tensor=True, batch_size=128)
    return float(udr_loss(emb[: len(qs)], emb[len(qs) :], 8)[0])


def test_short_training_lowers_the_loss(task, feedback, base_model, tmp_path):
    model = prepare_model(copy.deepcopy(base_model))
    model.max_seq_length = 24
    before = _fixed_loss(model, task, feedback)
    cfg = TrainConfig(epochs=4, batch_size=3, lr=1e-4, max_seq_length=24, warmup=0.0, seed=0)
    steps = []
    result = train_udr(model, [task], feedback, config=cfg, progress=lambda d, t: steps.append((d, t)))
    after = _fixed_loss(model, task, feedback)
    assert result.steps == 8 and steps[-1] == (8, 8)
    assert result.items == {"sst5": 6}
    assert after < before * 0.9, (before, after)

    # save / load round trip; encoder applies the task instruction, unnormalised, IP search
    udr = UDRModel(model, {"sst5": task.instruction}, name="udr-test")
    udr.save(tmp_path / "m")
    loaded = load_udr_model(tmp_path / "m", device="cpu")
    assert loaded.instructions == {"sst5": task.instruction}
    texts = [q.text for q in task.queries[:3]]
    np.testing.assert_allclose(loaded.encode(texts, "sst5"), udr.encode(texts, "sst5"), atol=1e-4)
    raw = model.encode([task.instruction + t for t in texts])
    np.testing.assert_allclose(udr.encode(texts, "sst5"), raw, atol=1e-4)
    assert np.linalg.norm(raw, axis=1).std() > 1e-3  # not unit-normalised
    retriever = loaded.retriever(Corpus(task.pool), "sst5")
    assert retriever.index.metric == "ip"
    hits = retriever.retrieve([task.pool[0].text], 3)[0]
    q = loaded.encode([task.pool[0].text], "sst5")[0]
    scores = loaded.encode([d.text for d in task.pool], "sst5") @ q
    assert [d.id for d in hits] == [task.pool[i].id for i in np.argsort(-scores)[:3]]
    with pytest.raises(InvalidInputError, match="no task 'trec'"):
        UDRModel(model, {"a": "x", "b": "y"}).encoder("trec")


def test_training_needs_feedback(task, base_model):
    with pytest.raises(InvalidInputError, match="no training item"):
        train_udr(prepare_model(copy.deepcopy(base_model)), [task], {"sst5": {}}, config=TrainConfig(epochs=1))
    with pytest.raises(InvalidInputError, match="epochs"):
        TrainConfig(epochs=0)


def test_multi_task_model_needs_a_task_for_unknown_pools(base_model):
    udr = UDRModel(base_model, {"a": "A: ", "b": "B: "}, name="m")
    assert udr.encoder("a").instruction == "A: "
    with pytest.raises(InvalidInputError, match=r"several tasks \['a', 'b'\].*task="):
        udr.encoder(None)
    assert UDRModel(base_model, {"a": "A: "}).encoder(None).instruction == "A: "
