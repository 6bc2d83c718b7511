"""The weak × strong grid: pairs in ladder order, tasks from each dataset's template, existing
pairs reused as they are, the suite written beside them."""

from __future__ import annotations

import pytest

from benchmark.core.errors import SpecError, UnknownNameError
from benchmark.tasks.grid import LADDER, grid_pairs, grid_tasks, write_grid
from tests.conftest import TINY_TASK


def test_pairs_put_every_weaker_rung_under_every_stronger_one() -> None:
    pairs = grid_pairs(["tfidf-logreg", "minilm-l6-layer1", "minilm-l6"])
    assert pairs == [("tfidf-logreg", "minilm-l6-layer1"), ("tfidf-logreg", "minilm-l6"),
                     ("minilm-l6-layer1", "minilm-l6")]
    assert len(grid_pairs(LADDER)) == 21  # 7 rungs
    with pytest.raises(UnknownNameError, match="Did you mean .minilm-l6."):
        grid_pairs(["tfidf-logreg", "minilm-l7"])


def test_the_embedded_grid_reuses_the_mini_tasks() -> None:
    tasks = grid_tasks(["tfidf-logreg", "minilm-l6-layer1", "minilm-l6"])
    ids = [t.spec.id for t in tasks]
    assert ids == ["rt-tfidf-logreg-to-minilm-l6-layer1-g1000",
                   "rt-tfidf-logreg-to-minilm-l6-g1000",
                   "rt-minilm-l6-layer1-to-minilm-l6-g1000",
                   "tweets-tfidf-logreg-to-minilm-l6-layer1-g1000",
                   "tweets-tfidf-logreg-to-minilm-l6-g1000",
                   "tweets-minilm-l6-layer1-to-minilm-l6-g1000"]
    from benchmark.tasks.spec import TASKS

    reused = {t.spec.id: t for t in tasks}["rt-tfidf-logreg-to-minilm-l6-g1000"]
    assert reused.exists
    assert reused.spec.sha256 == TASKS.get(
        "rt-tfidf-logreg-to-minilm-l6-g1000").sha256  # the frozen task itself, not a copy
    new = next(t.spec for t in tasks if t.spec.id == "rt-tfidf-logreg-to-minilm-l6-layer1-g1000")
    template = TASKS.get("rt-tfidf-logreg-to-minilm-l6-g1000")
    assert (new.splits, new.pool, new.training, new.dataset) == (
        template.splits, template.pool, template.training, template.dataset)
    assert new.description.startswith("tfidf-logreg supervises minilm-l6-layer1 on Rotten")
    # its own draws, the same whichever rungs the grid is cut from; the weak rung's own
    # definition, never the template's settings; kept whatever its gap
    assert new.seed not in {TASKS.get(t).seed for t in TASKS if t != new.id}
    whole = {t.spec.id: t.spec for t in grid_tasks(LADDER)}
    assert whole[new.id].seed == new.seed
    layer1 = whole["rt-minilm-l6-layer1-to-minilm-l6-layer3-g1000"]
    assert layer1.weak_supervisor == "minilm-l6-layer1@1" and layer1.gap_exception


def test_a_grid_never_copies_a_template_supervisor() -> None:
    with pytest.raises(SpecError, match="no supervisor definition is named 'mpnet-base'"):
        grid_tasks(["mpnet-base", "minilm-l6"])


def test_writing_the_grid_adds_tasks_and_a_suite(tiny_world) -> None:
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.suites import SUITES, suite_tasks

    tasks = grid_tasks(["tfidf-logreg", "tiny-bert"], templates={"tiny": TINY_TASK})
    assert [(t.spec.id, t.exists) for t in tasks] == [("tiny-tfidf-logreg-to-tiny-bert", False)]
    paths = write_grid(tasks, "tiny-grid", "tests")
    try:
        SUITES.reset()
        assert [t.id for t in suite_tasks("tiny-grid")] == ["tiny-tfidf-logreg-to-tiny-bert"]
        assert TASKS.get("tiny-tfidf-logreg-to-tiny-bert").sha256 == tasks[0].spec.sha256
        again = grid_tasks(["tfidf-logreg", "tiny-bert"], templates={"tiny": TINY_TASK})
        assert again[0].exists  # a second run writes nothing new
    finally:
        for path in paths:
            path.unlink()
        TASKS.reset()
        SUITES.reset()


def test_writing_a_grid_never_loses_another_suite_declaration(tiny_world) -> None:
    """`grid --write` once rewrote its suite file whole: over `frontier.yaml` it would drop
    three suites and a retirement, over `ladder` it would change what bootstrap's measured
    order reads. It refuses both, and replaces a same-named suite only with force."""
    from benchmark.tasks.suites import SUITES

    tasks = grid_tasks(["tfidf-logreg", "tiny-bert"], templates={"tiny": TINY_TASK})
    shared = tiny_world.root / "tasks" / "suites" / "shared.yaml"
    shared.parent.mkdir(exist_ok=True)
    shared.write_text(f"other:\n  description: kept\n  tasks: [{TINY_TASK}]\n")
    paths: list = []
    try:
        SUITES.reset()
        with pytest.raises(SpecError, match="also declares other"):
            write_grid(tasks, "shared", "tests")
        with pytest.raises(SpecError, match="'other' is declared in"):
            write_grid(tasks, "other", "tests")
        paths = write_grid(tasks, "tiny-grid", "tests")
        SUITES.reset()
        assert write_grid(tasks, "tiny-grid", "tests")   # the same tasks: a harmless rewrite
        SUITES.reset()
        with pytest.raises(SpecError, match="exists with other tasks; --force"):
            write_grid([], "tiny-grid", "tests")
        assert "kept" in shared.read_text()
    finally:
        shared.unlink()
        for path in paths:
            path.unlink(missing_ok=True)
        SUITES.reset()


def test_the_committed_ladder_suite_is_the_whole_grid_frozen_in_measured_order() -> None:
    """`ladder`: all 42 pairs of the 7 rungs (in LADDER's measured order), every task frozen
    under equal gold and intact, the decoder students with the hidden state chosen on
    examples outside the pool."""
    from benchmark.labels.frozen import load_references, verify_frozen
    from benchmark.tasks.suites import select_tasks

    suite, specs = select_tasks("ladder", None, "mini")
    assert suite == "ladder" and len(specs) == 42
    rank = {rung: i for i, rung in enumerate(LADDER)}
    assert all(rank[s.weak_model] < rank[s.strong_model] for s in specs)
    assert {(s.weak_model, s.strong_model) for s in specs} == set(grid_pairs(LADDER))
    for spec in specs:
        verify_frozen(spec)
        references = load_references(spec)
        assert all(r.n_A == r.n_B and r.controls is not None for r in references.replicates)
        chosen = references.strong_layer
        if spec.strong_model == "smollm2-135m-q4":
            assert chosen is not None and 1 <= chosen.layer <= 30
            assert chosen.accuracy[chosen.layer] == max(chosen.accuracy.values())
            assert chosen.source == "outside-pool"   # no replicate tests on the choice set
        else:
            assert chosen is None
    # the measured order: each rung's mean ceiling over both datasets as a student of tf-idf
    ceilings = {}
    for spec in specs:
        if spec.weak_model == "tfidf-logreg":
            refs = load_references(spec).replicates
            ceilings.setdefault(spec.strong_model, []).append(
                sum(r.ceiling_accuracy for r in refs) / len(refs))
    means = [sum(ceilings[r]) / 2 for r in LADDER[1:]]
    # non-decreasing at 1,000 gold labels each (grid.py records the measured means)
    assert all(b > a - 0.001 for a, b in zip(means, means[1:], strict=False))
    assert means[-1] - means[0] > 0.05
