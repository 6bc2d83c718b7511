"""A task kind is one module: registering a new one (a module and its registry line) gives
tasks its strict YAML block, its checks, its input to methods, its record fields and its
leaderboard table, and changes nothing for the tasks that do not declare it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.core.kinds import KINDS, TaskKind
from benchmark.tasks.spec import TASKS
from tests.conftest import REPO

BASE_TASK = "rt-tfidf-logreg-to-minilm-l6-g1000"

TOY_KIND = '''
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from benchmark.core.kinds import KindTable, SettingField, TaskKind


class Toy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    level: int = Field(ge=0)


class ToyKind(TaskKind):
    key = "toy"
    block = Toy
    track = "beyond"
    setting_fields = {"toy_level": SettingField(int | None)}
    table_html = "<h4>Toy table</h4>\\n{% for r in table.rows %}<p>{{ r }}</p>\\n{% endfor %}"

    def check(self, spec: Any) -> None:
        if spec.toy.level >= len(spec.label_names):
            raise ValueError("`toy.level` is past the task's classes")

    def method_input(self, spec: Any, weak: Any, pool: Any) -> dict[str, int]:
        return {"level": spec.toy.level}

    def setting(self, spec: Any) -> dict[str, Any]:
        return {"toy_level": spec.toy.level}

    def table(self, groups, twin_of):
        rows = tuple(f"{task} {method} {len(runs)}" for (task, method), runs in groups.items()
                     if runs[0].setting.toy_level is not None)
        return KindTable(self.key, rows) if rows else None

    def table_markdown(self, table):
        return ["### Toy", "", *table.rows, ""]


KIND = ToyKind()
'''

SCRIPT = '''
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import benchmark.core.kinds as kinds
kinds.KIND_MODULES += ("toy_kind",)
from benchmark.core.errors import SpecError
from benchmark.core.kinds import declared_kinds
from benchmark.results.records import Setting, record_json
from benchmark.run.scoring import task_setting
from benchmark.site.build import build_site
from benchmark.tasks.spec import TASKS, parse_task
from tests.site_records import make_record

folder, base = Path(sys.argv[1]), TASKS.get(sys.argv[2])
source = (Path("tasks") / f"{base.id}.yaml").read_text()
out = {"base_hash": base.sha256, "errors": {}}
for name, block in (("toy-ok", "toy: {level: 1}"), ("toy-past", "toy: {level: 5}"),
                    ("toy-typo", "toy: {levle: 1}")):
    path = folder / f"{name}.yaml"
    path.write_text(source.replace(f"id: {base.id}", f"id: {name}") + block + "\\n")
    without = folder / "without" / f"{name}.yaml"
    without.parent.mkdir(exist_ok=True)
    without.write_text(source.replace(f"id: {base.id}", f"id: {name}"))
    try:
        spec = parse_task(path)
    except SpecError as exc:
        out["errors"][name] = str(exc)
        continue
    out["hash"], out["hash_without"] = spec.sha256, parse_task(without).sha256
    out["inputs"] = {k.key: k.method_input(spec, None, None) for k in declared_kinds(spec)}
    out["setting"] = task_setting(spec).model_dump()
plain = make_record(base.id, "naive", 0, 0.5)
plain = plain.model_copy(update={"setting": Setting(compare_with="x")})
out["plain_setting"] = record_json(plain)["setting"]
records = [make_record("toy-ok", "naive", k, 0.5).model_copy(update={
    "setting": Setting(toy_level=1)}) for k in range(2)]
build_site(records, folder / "site", build_time="2026-01-01T00:00:00Z", git_commit="c")
out["html"] = (folder / "site" / "index.html").read_text()
out["markdown"] = (folder / "site" / "leaderboard.md").read_text()
print(json.dumps(out))
'''


def test_a_new_kind_is_one_module_and_a_registry_line(tmp_path: Path) -> None:
    (tmp_path / "toy_kind.py").write_text(TOY_KIND)
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), BASE_TASK], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    # tasks that do not declare it keep their hash; one that does is hashed with its block
    assert out["base_hash"] == TASKS.get(BASE_TASK).sha256
    assert out["hash"] != out["hash_without"]
    # its block is strict and checked against the task
    assert "`toy.level` is past the task's classes" in out["errors"]["toy-past"]
    assert "levle" in out["errors"]["toy-typo"]
    assert "toy-ok" not in out["errors"]
    # what a method gets, what a record says, and where the site shows it
    assert out["inputs"] == {"toy": {"level": 1}}
    assert out["setting"]["toy_level"] == 1
    assert "toy_level" not in out["plain_setting"]   # left out where unset
    beyond = out["html"][out["html"].index('<h3 id="beyond-s">'):]   # its track's section
    assert "<h4>Toy table</h4>" in beyond and "<p>toy-ok naive 2</p>" in beyond
    assert "### Toy" in out["markdown"] and "toy-ok naive 2" in out["markdown"]


def _models_in(annotation: object) -> list[type]:
    """The pydantic models a block's type is made of (a model, or e.g. a mapping of them)."""
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def test_every_registered_kind_is_complete() -> None:
    """Each kind names its block and track, and a table's HTML goes with its Markdown."""
    assert KINDS.names(), "no kind registered"
    for name, kind in KINDS.items():
        assert isinstance(kind, TaskKind) and kind.key == name
        assert kind.track in ("frontier", "beyond")
        models = _models_in(kind.block)
        assert models and all(m.model_config.get("extra") == "forbid" for m in models), \
            f"{name}'s block is not strict"
        has_table = type(kind).table is not TaskKind.table
        assert has_table == bool(kind.table_html) \
            == (type(kind).table_markdown is not TaskKind.table_markdown), name


# what stage code may still say about a kind (regexes): the inputs older methods read by
# name, and the members' protocol (each member's `supervisor` definition and `weak_c`)
COMPAT = {"benchmark/api/method.py": [r'\bself\.kinds\.get\("conflict"\)',
                                      r'\bself\.kinds\.get\("weak_models"\)'],
          "benchmark/tasks/spec.py": [r"\bmember\.supervisor\b", r"\bm\.supervisor\b"]}
IMPORTS_A_KIND = (r"(?m)^\s*(?:from|import)\s+benchmark\.kinds\b"
                  r"|^\s*from\s+benchmark\s+import\s+kinds\b"
                  r"|^\s*from\s+\.+kinds\b|[\"']benchmark\.kinds\.")


def _code(text: str) -> str:
    """The source without its comments and docstrings (prose may name a kind)."""
    import ast
    import io
    import tokenize

    lines = text.splitlines(keepends=True)
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                and isinstance(first.value.value, str):
            for i in range(first.lineno - 1, first.end_lineno or first.lineno):
                lines[i] = "\n"
    kept = "".join(lines)
    comments = [t for t in tokenize.generate_tokens(io.StringIO(kept).readline)
                if t.type == tokenize.COMMENT]
    out = kept.splitlines(keepends=True)
    for t in reversed(comments):
        row, col = t.start
        out[row - 1] = out[row - 1][:col] + "\n"
    return "".join(out)


def _kind_patterns(in_spec: bool) -> list[str]:
    patterns = [IMPORTS_A_KIND]
    for _, kind in KINDS.items():
        key = kind.key
        fields = {*kind.setting_fields, *kind.metric_fields, *kind.reference_fields}
        patterns += [rf"\bspec\.{key}\b(?!_)", rf"getattr\(\w+, [\"']{key}[\"']",
                     rf"\bkinds(?:\[|\.get\()[\"']{key}[\"']",
                     *(rf"\.{name}\b(?!\()" for name in sorted(fields))]
        if in_spec:
            patterns.append(rf"\bself\.{key}\b(?!_)")
    return patterns


def stage_offenders(where: str, source: str) -> list[str]:
    """The patterns a stage module's code (``source``, at ``where``) matches."""
    text = _code(source)
    if where == "benchmark/core/kinds.py":   # the registry lines
        text = re.sub(r'\n    "benchmark\.kinds\.\w+",', "", text)
    for allowed in COMPAT.get(where, []):
        text = re.sub(allowed, "", text)
    imports = re.findall(IMPORTS_A_KIND, text)
    # other module paths name a stage's own modules (``benchmark.labels.supervisors``)
    text = re.sub(r"(?<![\"'])\bbenchmark(?!\.kinds\b)(?:\.\w+)+", "", text)
    found = [p for p in _kind_patterns(where.endswith("/spec.py")) if re.search(p, text)]
    return found if not imports or IMPORTS_A_KIND in found else [IMPORTS_A_KIND, *found]


def test_the_stages_name_no_kind() -> None:
    """No stage reaches a kind's block, its method input, the fields it adds to a record's
    setting, metrics or a replicate's references (on any object), or imports its module:
    only the kind does (and the registry names its module, on one line). Adding a kind that
    needs no new hook is its module, its tests, its tasks and guide, and that line."""
    offenders = []
    for path in sorted((REPO / "benchmark").rglob("*.py")):
        where = str(path.relative_to(REPO))
        if path.parent.name != "kinds":
            offenders += [f"{where}: {p}" for p in stage_offenders(where, path.read_text())]
    assert not offenders, offenders


@pytest.mark.parametrize("code", [
    "from benchmark.kinds.shift import TARGET\n", "import benchmark.kinds.shift\n",
    "from benchmark.kinds import shift\n", "from ..kinds.shift import X\n",
    "from benchmark import kinds\n", "x = importlib.import_module('benchmark.kinds.shift')\n",
    "def f(spec):\n    return spec.shift\n", "def f(weak):\n    return weak.supervisors\n",
    "def f(r):\n    return r.metrics.shifted\n", "def f(inp):\n    return inp.kinds['shift']\n",
    "def f(t):\n    return getattr(t, 'sandbag')\n",
])
def test_the_stage_check_flags_what_it_says(code: str) -> None:
    """The checker itself, on made-up stage code, each line something it must refuse; a
    docstring or comment naming the same is not code."""
    assert stage_offenders("benchmark/run/made_up.py", code)
    prose = f'"""{code.strip()}"""\n# {code.strip()}\n'.replace("\n    ", " ")
    assert not stage_offenders("benchmark/run/made_up.py", prose)


def test_a_moved_frontier_kind_still_does_not_combine_with_pairwise(tmp_path: Path) -> None:
    """Pairwise tasks refuse every frontier setting, the ones moved into kinds included."""
    from benchmark.core.errors import SpecError
    from benchmark.tasks.spec import parse_task

    base = "tweets-pairs-tfidf-logreg-to-minilm-l6-g1000"
    text = (REPO / "tasks" / f"{base}.yaml").read_text().replace(f"id: {base}", "id: pairs-x")
    path = tmp_path / "pairs-x.yaml"
    path.write_text(text + "conflict: {reward_class: first, weight: 0.5}\n")
    with pytest.raises(SpecError, match="without the adversarial blocks"):
        parse_task(path)
    # and a shifted test set, which the pairwise kind excludes by name
    path.write_text(text + "shift: {target: rt, pool: 300, test: 100}\n")
    with pytest.raises(SpecError, match="`pairwise:` does not combine with `shift:`"):
        parse_task(path)


def test_kinds_that_do_not_combine_are_refused_by_name(tmp_path: Path) -> None:
    """``excludes`` names registered kinds, and a task declaring both is refused: several
    supervisors beside a systematic one, a shifted test set beside a locked student."""
    from benchmark.core.errors import SpecError
    from benchmark.tasks.spec import parse_task

    for _, kind in KINDS.items():
        assert set(kind.excludes) <= set(KINDS.names()), kind.key
    base = "rt-ensemble-to-mpnet-base-g1000"
    text = (REPO / "tasks" / f"{base}.yaml").read_text().replace(f"id: {base}", "id: both-x")
    path = tmp_path / "both-x.yaml"
    path.write_text(text + "supervisor: {keywords: {fresh: [good], rotten: [bad]}}\n")
    with pytest.raises(SpecError, match="`supervisor:` does not combine with `weak_models:`"):
        parse_task(path)


def test_a_kind_cannot_replace_a_field_of_the_schema_or_of_another_kind() -> None:
    from benchmark.core.kind_fields import added_fields, unique_fields
    from benchmark.results.records import SettingCommon
    from benchmark.tasks.spec import TaskDefinition

    with pytest.raises(TypeError, match="task kind 'toy' declares 'id'"):
        added_fields(TaskDefinition, {"id": ("toy", (int, None))})
    with pytest.raises(TypeError, match="declares 'compare_with'"):
        added_fields(SettingCommon, {"compare_with": ("toy", (int, None))})
    with pytest.raises(TypeError, match="'a' and 'b' both declare 'level'"):
        unique_fields([("level", "a", (int, None)), ("level", "b", (int, None))])


BROKEN = '''
import sys, importlib
sys.path.insert(0, sys.argv[1])
import benchmark.core.kinds as kinds
kinds.KIND_MODULES += (sys.argv[2],)
for attempt in range(2):
    try:
        importlib.import_module("benchmark.tasks.spec")
    except Exception as exc:
        print(type(exc).__name__, exc)
'''


def test_a_kind_module_that_fails_says_why_every_time(tmp_path: Path) -> None:
    """A kind that raises on import, or imports a stage at its top (which would build the
    task definition without the kinds), is refused with its own error at every lookup."""
    (tmp_path / "boom_kind.py").write_text("raise RuntimeError('boom at import')\n")
    (tmp_path / "eager_kind.py").write_text("import benchmark.results.records\n")
    for module, says in (("boom_kind", "RuntimeError boom at import"),
                         ("eager_kind", "imported a stage at its top")):
        done = subprocess.run([sys.executable, "-c", BROKEN, str(tmp_path), module], cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        lines = done.stdout.strip().splitlines()
        assert len(lines) == 2 and all(says in line for line in lines), done.stdout + done.stderr


def test_kind_modules_import_only_light_modules_at_their_top() -> None:
    """The task definition imports every kind while it is built: a kind module's own top
    imports only pydantic, numpy, the standard library, core and other kinds; what the
    stages offer it imports inside its hooks (and a table hook, which the site calls, only
    the site's helpers and core: the leaderboard still reads records only)."""
    import ast

    allowed = ("benchmark.core", "benchmark.kinds", "pydantic", "numpy", "__future__")
    site_allowed = ("benchmark.site", "benchmark.core")

    def imported(nodes: list[ast.AST]) -> list[str]:
        names = []
        for node in nodes:
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            elif isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
        return names

    checked = 0
    for path in sorted((REPO / "benchmark" / "kinds").glob("*.py")):
        tree = ast.parse(path.read_text())
        for name in imported(tree.body):
            assert name.startswith(allowed) or name.split(".")[0] in sys.stdlib_module_names, \
                f"{path.name} imports {name} at its top"
        # the table hooks and the row builders they call run in the site's process
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
                     and re.search("table|rows", n.name)]
        checked += len(functions)
        for fn in functions:
            for name in imported(list(ast.walk(fn))):
                assert name.startswith(site_allowed), f"{path.name} {fn.name} imports {name}"
    assert checked >= len([k for _, k in KINDS.items() if k.table_html])   # not vacuous


def test_a_dry_run_of_an_unfrozen_kind_task_needs_nothing_rebuilt(tmp_path: Path) -> None:
    """What a kind froze into the cache is only missing once the task is frozen: before,
    the plan has nothing to rebuild (its runs report the missing freeze themselves)."""
    from benchmark.labels.cached import missing_replicates
    from benchmark.labels.frozen import is_frozen
    from benchmark.tasks.spec import parse_task

    base = "rt-tfidf-logreg-to-minilm-l6-locked-g500"
    text = (REPO / "tasks" / f"{base}.yaml").read_text().replace(f"id: {base}", "id: unfrozen-x")
    path = tmp_path / "unfrozen-x.yaml"
    path.write_text(text)
    spec = parse_task(path)
    assert spec.sandbag is not None and not is_frozen(spec.id)
    assert missing_replicates(spec, [0, 1]) == []
