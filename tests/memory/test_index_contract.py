"""The vector index contract: every implementation of `VectorIndex` must pass this module.

Written against the Protocol only, so a new implementation joins by adding one
`Implementation` to `IMPLEMENTATIONS`. Exact implementations must return exactly the NumPy
reference's neighbours; approximate ones must reach recall@10 >= 0.95 against it.

`pgvector` runs on a real PostgreSQL 16 with pgvector (pgserver, `pgvector_server.py`): each
index in a new table of a database of this module's.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine

from backend.memory.index import ExactIndex, HnswIndex, HybridIndex, VectorIndex, create_index
from backend.memory.index_pgvector import PgVectorIndex
from tests.memory.pgvector_server import PgVectorServer, pgvector_server

__all__ = ["pgvector_server"]

DIM = 384
# Small enough that most tests below cross it, so the hybrid's HNSW path is exercised.
SMALL_THRESHOLD = 100
# float16 storage (HNSW) rounds a cosine by up to about 1e-3.
SCORE_TOLERANCE = 2e-3


def _from_fixture(dim: int) -> VectorIndex:
    raise AssertionError("this implementation's factory comes from its fixture")


@dataclass(frozen=True)
class Implementation:
    name: str
    factory: Callable[[int], VectorIndex]
    exact: bool
    # A fixture giving the factory, for implementations that need a server.
    fixture: str | None = None


IMPLEMENTATIONS = [
    Implementation("exact", ExactIndex, exact=True),
    Implementation("hnsw", HnswIndex, exact=False),
    # The default holds the test data under its threshold, so it answers exactly.
    Implementation("default", create_index, exact=True),
    Implementation(
        "hybrid-small-threshold",
        lambda dim: HybridIndex(dim, threshold=SMALL_THRESHOLD),
        exact=False,
    ),
    # HNSW in PostgreSQL (searches go through the graph: test_memory_pgvector.py checks).
    Implementation("pgvector", _from_fixture, exact=False, fixture="pgvector_factory"),
]


@pytest.fixture(scope="module")
def pgvector_engine(pgvector_server: PgVectorServer) -> Iterator[Engine]:
    url = pgvector_server.create_database()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        yield engine
    finally:
        engine.dispose()
        pgvector_server.drop_database(url)


@pytest.fixture
def pgvector_factory(pgvector_engine: Engine) -> Iterator[Callable[[int], VectorIndex]]:
    """Each index in a new table, dropped after the test."""
    made: list[PgVectorIndex] = []

    def factory(dim: int) -> VectorIndex:
        made.append(PgVectorIndex(pgvector_engine, dim, model=f"contract-{uuid.uuid4().hex}"))
        return made[-1]

    yield factory
    with pgvector_engine.begin() as conn:
        for index in made:
            conn.exec_driver_sql(f'DROP TABLE "{index.table}"')


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda impl: impl.name)
def impl(request: pytest.FixtureRequest) -> Implementation:
    implementation: Implementation = request.param
    if implementation.fixture is not None:
        factory = request.getfixturevalue(implementation.fixture)
        return replace(implementation, factory=factory)
    return implementation


@pytest.fixture
def index(impl: Implementation) -> VectorIndex:
    return impl.factory(DIM)


def random_vectors(count: int, seed: int, dim: int = DIM) -> np.ndarray:
    """Random directions with random lengths (the index must normalise them)."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, dim)).astype(np.float32)
    return vectors * rng.uniform(0.5, 3.0, (count, 1)).astype(np.float32)


def clustered_vectors(count: int, seed: int, clusters: int = 50) -> np.ndarray:
    """Points around cluster centres: embedding-like, unlike uniform directions in 384-d."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM)).astype(np.float32)
    noise = rng.standard_normal((count, DIM)).astype(np.float32)
    return centres[rng.integers(0, clusters, count)] + 0.8 * noise


def unit(vectors: np.ndarray) -> np.ndarray:
    normalised: np.ndarray = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
    return normalised


def assert_well_formed(results: list[tuple[int, float]], k: int) -> None:
    assert len(results) <= k
    keys = [key for key, _ in results]
    scores = [score for _, score in results]
    assert all(isinstance(key, int) for key in keys)
    assert len(set(keys)) == len(keys)
    assert all(isinstance(score, float) for score in scores)
    assert all(-1 - SCORE_TOLERANCE <= score <= 1 + SCORE_TOLERANCE for score in scores)
    assert scores == sorted(scores, reverse=True)


def assert_top_is(results: list[tuple[int, float]], key: int) -> None:
    """The best result is `key`, found by its own vector (cosine 1)."""
    top_key, top_score = results[0]
    assert top_key == key
    assert top_score == pytest.approx(1.0, abs=SCORE_TOLERANCE)


def test_implements_the_protocol(index: VectorIndex) -> None:
    assert isinstance(index, VectorIndex)
    assert index.dim == DIM


def test_nearest_neighbours_match_numpy_reference(impl: Implementation) -> None:
    index = impl.factory(DIM)
    data = clustered_vectors(3000, seed=1)
    keys = list(range(1000, 4000))
    index.add(keys, data)
    queries = clustered_vectors(50, seed=2)
    similarities = unit(queries) @ unit(data).T
    found = 0
    for query, row in zip(queries, similarities, strict=True):
        results = index.search(query, 10)
        assert_well_formed(results, 10)
        assert len(results) == 10
        expected = [keys[i] for i in np.argsort(-row)[:10]]
        got = [key for key, _ in results]
        if impl.exact:
            assert got == expected
        found += len(set(got) & set(expected))
        for key, score in results:
            assert score == pytest.approx(row[key - 1000], abs=SCORE_TOLERANCE)
    assert found / (10 * len(queries)) >= 0.95


def test_identical_vector_scores_one(index: VectorIndex) -> None:
    data = random_vectors(300, seed=3)
    index.add(range(300), data)
    for key in (0, 150, 299):
        assert_top_is(index.search(data[key] * 7.0, 3), key)


def test_readding_a_key_replaces_its_vector(impl: Implementation) -> None:
    index = impl.factory(DIM)
    data = random_vectors(200, seed=4)
    index.add(range(200), data)
    old, new = data[7], random_vectors(1, seed=5)[0]
    index.add([7], new[np.newaxis])
    assert len(index) == 200
    assert_top_is(index.search(new, 1), 7)
    results = index.search(old, 200)
    assert all(score < 0.5 for _, score in results)  # the old vector is gone
    scores_of_7 = [score for key, score in results if key == 7]
    if impl.exact:
        assert len(scores_of_7) == 1
    assert len(scores_of_7) <= 1
    for score in scores_of_7:
        assert score == pytest.approx(float(unit(old) @ unit(new)), abs=SCORE_TOLERANCE)


def test_last_vector_for_a_key_in_one_add_wins(index: VectorIndex) -> None:
    first, second, other = random_vectors(3, seed=6)
    index.add([5, 6, 5], np.stack([first, other, second]))
    assert len(index) == 2
    assert_top_is(index.search(second, 1), 5)


def test_removed_keys_disappear_and_unknown_keys_are_ignored(impl: Implementation) -> None:
    index = impl.factory(DIM)
    data = random_vectors(300, seed=7)
    index.add(range(300), data)
    removed = list(range(0, 300, 2))
    index.remove([*removed, 10**12, 301])
    index.remove(removed)  # twice: now every key is unknown
    assert len(index) == 150
    assert 0 not in index
    assert 1 in index
    assert 10**12 not in index
    assert "1" not in index
    returned = {key for key, _ in index.search(data[0], 300)}
    remaining = set(range(1, 300, 2))
    assert returned <= remaining
    if impl.exact:
        assert returned == remaining
    else:
        # A graph search asked for everything may miss a few items it cannot reach.
        assert len(returned) >= 0.95 * len(remaining)
    index.add([0], data[:1])
    assert index.search(data[0], 1)[0][0] == 0


def test_k_larger_than_the_index_returns_every_item(index: VectorIndex) -> None:
    data = random_vectors(5, seed=8)
    index.add([10, 20, 30, 40, 50], data)
    results = index.search(data[2], 50)
    assert_well_formed(results, 50)
    assert {key for key, _ in results} == {10, 20, 30, 40, 50}
    assert results[0][0] == 30


def test_empty_index_returns_nothing(index: VectorIndex) -> None:
    query = random_vectors(1, seed=9)[0]
    assert len(index) == 0
    assert 0 not in index
    assert index.search(query, 10) == []
    index.add([], np.empty((0, DIM), dtype=np.float32))
    index.add([1, 2], random_vectors(2, seed=10))
    index.remove([1, 2])
    assert len(index) == 0
    assert index.search(query, 10) == []


@pytest.mark.parametrize(
    ("keys", "vectors"),
    [
        ([1], np.ones((1, DIM + 1), dtype=np.float32)),
        ([1], np.ones(DIM, dtype=np.float32)),
        ([1, 2], np.ones((1, DIM), dtype=np.float32)),
        ([-1], np.ones((1, DIM), dtype=np.float32)),
        ([1], np.full((1, DIM), np.nan, dtype=np.float32)),
        ([1], np.full((1, DIM), np.inf, dtype=np.float32)),
        ([1], np.zeros((1, DIM), dtype=np.float32)),
    ],
    ids=["wider", "not-a-matrix", "key-count", "negative-key", "nan", "inf", "zero"],
)
def test_bad_additions_are_rejected_and_change_nothing(
    index: VectorIndex, keys: list[int], vectors: np.ndarray
) -> None:
    index.add([7], random_vectors(1, seed=11))
    with pytest.raises(ValueError, match=r"\S"):
        index.add(keys, vectors)
    assert len(index) == 1
    assert 1 not in index


def test_bad_queries_are_rejected(index: VectorIndex) -> None:
    index.add([1], random_vectors(1, seed=12))
    query = random_vectors(1, seed=13)[0]
    bad_queries = [query[:-1], np.append(query, 1.0), np.where(query > 0, np.nan, query)]
    for bad in bad_queries:
        with pytest.raises(ValueError, match="query"):
            index.search(bad, 1)
    for k in (0, -3):
        with pytest.raises(ValueError, match="k must be"):
            index.search(query, k)


def test_searches_run_concurrently_with_adds_and_removes(index: VectorIndex) -> None:
    size, count = 30, 30  # the hybrid crosses its threshold while readers are searching
    batches = [random_vectors(size, seed=100 + i) for i in range(count)]
    queries = random_vectors(20, seed=14)
    index.add(range(size), batches[0])
    errors: list[BaseException] = []
    writing = threading.Event()
    writing.set()

    def write() -> None:
        for i, batch in enumerate(batches[1:], start=1):
            index.add(range(i * size, (i + 1) * size), batch)
            index.remove([i * size, i * size + 1])  # the first two keys of each new batch

    def read() -> None:
        while writing.is_set():
            for query in queries:
                assert_well_formed(index.search(query, 10), 10)
                assert 0 in index

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                errors.append(exc)
                writing.clear()

        return run

    readers = [threading.Thread(target=guarded(read)) for _ in range(3)]
    writer = threading.Thread(target=guarded(write))
    for thread in [*readers, writer]:
        thread.start()
    writer.join()
    writing.clear()
    for thread in readers:
        thread.join()
    assert errors == []
    removed = {i * size + j for i in range(1, count) for j in (0, 1)}
    assert len(index) == size * count - len(removed)
    assert all((key in index) != (key in removed) for key in range(size * count))


def test_the_small_threshold_hybrid_switches_to_hnsw() -> None:
    # Guards the parametrisation above: without a switch, the HNSW path would go untested.
    index = HybridIndex(DIM, threshold=SMALL_THRESHOLD)
    data = random_vectors(2 * SMALL_THRESHOLD, seed=15)
    index.add(range(SMALL_THRESHOLD), data[:SMALL_THRESHOLD])
    assert not index.approximate
    index.add(range(SMALL_THRESHOLD, 2 * SMALL_THRESHOLD), data[SMALL_THRESHOLD:])
    assert index.approximate
    assert len(index) == 2 * SMALL_THRESHOLD
    assert index.search(data[0], 1)[0][0] == 0
