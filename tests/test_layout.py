"""The import direction follows the data flow (DESIGN.md): a module imports only from its own stage or earlier ones, and
no modules import each other in a circle. Read from the source with ast, so a lazy import inside a function counts too."""

import ast
from pathlib import Path

import pytest

from qa.core.settings import PROJECT_ROOT

# The stages in flow order; a module may import from its own stage and the ones before it.
STAGES = ("qa.core", "qa.ingest", "qa.index", "qa.retrieve", "qa.answer", "qa.assistant", "qa.apps", "qa_eval")
ROOTS = {"qa": PROJECT_ROOT / "qa", "qa_eval": PROJECT_ROOT / "eval" / "qa_eval"}
# `qa eval` loads the evaluation package when it is installed: the one import against the flow, and only inside the
# command's function.
PLUGINS = {("qa.apps.cli", "qa_eval")}


def modules() -> dict[str, Path]:
    found = {}
    for package, root in ROOTS.items():
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join((package, *parts))
            found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """The qa / qa_eval modules a file imports (`from qa.x import y` counts y when y is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    known = modules()
    return {name for name in found if name in known and name.split(".")[0] in ROOTS}


def stage(module: str) -> int | None:
    for rank, prefix in enumerate(STAGES):
        if module == prefix or module.startswith(prefix + "."):
            return rank
    return None  # the package root (the public API's re-exports) and qa.bundled


def test_every_module_belongs_to_a_stage():
    loose = sorted(m for m in modules() if stage(m) is None and m not in ("qa", "qa.bundled"))
    assert loose == [], "modules outside the stages: " + ", ".join(loose)


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_follow_the_flow(module):
    rank = stage(module)
    if rank is None:
        return
    backwards = sorted(m for m in imports(modules()[module])
                       if (other := stage(m)) is not None and other > rank and not any(
                           module == a and (m == b or m.startswith(b + ".")) for a, b in PLUGINS))
    assert backwards == [], f"{module} imports later stages: {backwards}"


def test_no_module_level_import_circle():
    graph = {m: {i for i in imports(p, top_level_only=True) if i != m} for m, p in modules().items()}
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        if node in path:
            raise AssertionError("import circle: " + " -> ".join((*path[path.index(node):], node)))
        if node in done:
            return
        for nxt in graph.get(node, ()):
            visit(nxt, (*path, node))
        done.add(node)

    for module in sorted(graph):
        visit(module, ())


@pytest.mark.parametrize(("module", "rank"), [("qa.core.types", 0), ("qa.answer.reader", 4), ("qa.assistant", 5),
                                              ("qa.apps.cli", 6), ("qa_eval.squad2", 7), ("qa", None)])
def test_stage_table(module, rank):
    assert stage(module) == rank


def test_the_check_catches_a_backwards_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from qa.apps.cli import main\n", encoding="utf-8")
    assert stage(next(iter(imports(bad)))) > stage("qa.core.text")
