"""Memory on Core's real local embedder (all-MiniLM-L6-v2), end to end through Edge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.api import create_app as create_core
from core.settings import CoreSettings
from tests.agent.conftest import EdgeFactory
from tests.agent.polling import send, wait_task
from tests.memory.conftest import Memory
from tests.servers import serve

RETRIEVAL_SET = Path(__file__).parents[2] / "bench" / "data" / "retrieval_set.json"


@pytest.fixture(scope="module")
def minilm_core() -> Iterator[str]:
    with serve(create_core(CoreSettings(backend="mock", embedding_backend="minilm"))) as url:
        yield url


@pytest.fixture
def real(
    make_edge: EdgeFactory, tmp_path: Path, database_url: str, minilm_core: str
) -> Iterator[Memory]:
    data_dir = tmp_path / "data"
    with make_edge(data_dir=data_dir, core_base_url=minilm_core) as owner:
        yield Memory(owner, owner, "", data_dir, database_url)


def test_paraphrased_questions_find_their_facts(real: Memory) -> None:
    data = json.loads(RETRIEVAL_SET.read_text())
    english = [(q, i) for q, i in data["questions"] if i < 30]
    for fact in data["facts"][:30]:
        assert real.write(fact, confidence=0.95).status_code in (201, 202)
    stored = {x["text"] for x in real.items()}
    hits = total = 0
    for question, index in english:
        fact = data["facts"][index]
        if fact not in stored:
            continue  # a high-impact fact waits as a candidate
        total += 1
        hits += fact in real.texts(question, top_k=3)
    assert total >= 25
    assert hits / total >= 0.9, f"{hits}/{total}"


def test_the_real_model_tells_duplicates_from_contradictions(real: Memory) -> None:
    first = real.write("Our neighbour Ana feeds the fish when we travel.").json()["memory"]
    again = real.write("Ana, our neighbour, feeds our fish when we are travelling.").json()
    assert again["status"] == "merged"
    assert again["memory"]["memory_id"] == first["memory_id"]
    train = real.write("I take the 7:40 train to work.").json()["memory"]
    changed = real.write("I take the 8:10 train to work.").json()
    assert changed["status"] == "candidate"
    assert changed["candidate"]["supersedes"] == train["memory_id"]
    unrelated = real.write("The boiler was serviced in October.").json()
    assert unrelated["status"] == "stored"


def test_the_agent_recalls_with_the_real_model(real: Memory) -> None:
    real.write("The spare house key is under the blue flowerpot.")
    real.write("I play tennis every Thursday evening.")
    sent = send(real.owner, "I'm locked out, where is the backup key?")
    task = wait_task(real.owner, sent["task_id"])
    assert "From what I remember: The spare house key is under the blue flowerpot." in task["reply"]


def test_switching_embedding_models_re_embeds_what_was_remembered(
    make_edge: EdgeFactory, tmp_path: Path, minilm_core: str
) -> None:
    data_dir = tmp_path / "switch"
    with make_edge(data_dir=data_dir) as on_mock:  # lexical embeddings
        on_mock.post("/v1/memory/write", json={"text": "The plumber we trust is called Marek."})
    with make_edge(data_dir=data_dir, core_base_url=minilm_core) as on_minilm:
        r = on_minilm.post(
            "/v1/memory/query", json={"text": "who should I call about a leaking pipe"}
        )
        assert [x["text"] for x in r.json()["data"]][:1] == [
            "The plumber we trust is called Marek."
        ]
