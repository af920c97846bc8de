"""The layering rules of design-review-2 as tests, on the source's import graph (read with ast, nothing
imported): the core imports no edge module, config imports only the core and asks no device, the runner
never imports plotting or the CLI, plotting reads only config and the run-directory module, only the CLI
prints, no cycle, no file over 400 lines, and the longest import chain inside mfbd/ at most 10 modules."""

import ast
import functools
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FILES = {
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
    for p in (ROOT / "mfbd").rglob("*.py")
}
CORE = ("mfbd.problems", "mfbd.schemes", "mfbd.pde", "mfbd.simulate", "mfbd.sharding", "mfbd._checks", "mfbd._random")
#: Deprecated alias modules (one release): each only points at its new home.
ALIASES = {
    "mfbd._toml",
    "mfbd._schedules_config",
    "mfbd.config_sampling",
    "mfbd.user_problem",
    "mfbd._memory",
    "mfbd._fingerprint",
    "mfbd.rundir",
    "mfbd.sweep",
    "mfbd.sweep_run",
    "mfbd.plotting_sweep",
    "mfbd.plotting_sampling",
    "mfbd._plotbase",
}


def _imports(name: str) -> set[str]:
    """The mfbd modules ``name`` imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(FILES[name].read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in FILES}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module in FILES:
            subs = {f"{node.module}.{a.name}" for a in node.names} & set(FILES)
            found |= subs | ({node.module} if len(subs) < len(node.names) else set())
    return found - {name}


GRAPH = {name: _imports(name) for name in FILES}


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_core_imports_no_edge_module():
    for name in FILES:
        if _within(name, CORE):
            edge = {m for m in GRAPH[name] if not _within(m, CORE) and m != "mfbd"}
            assert not edge, f"{name} imports edge modules {edge}"


def test_config_imports_only_the_core_and_asks_no_device():
    for name in FILES:
        if _within(name, ("mfbd.config",)):
            other = {m for m in GRAPH[name] if not _within(m, (*CORE, "mfbd.config")) and m != "mfbd"}
            assert not other, f"{name} imports {other}"
            text = FILES[name].read_text()
            for query in ("jax.devices", "device_count", "memory_stats", "meminfo", "local_devices"):
                assert query not in text, f"{name} asks the machine ({query})"


def test_the_runner_never_imports_plotting_or_the_cli():
    for name in FILES:
        if _within(name, ("mfbd.runner",)):
            bad = {m for m in GRAPH[name] if _within(m, ("mfbd.plotting", "mfbd.cli"))}
            assert not bad, f"{name} imports {bad}"


def test_plotting_reads_only_config_and_the_run_directory_module():
    for name in FILES:
        if _within(name, ("mfbd.plotting",)):
            allowed = ("mfbd.config", "mfbd.plotting", "mfbd.runner.rundir", "mfbd.stats")  # stats: the one statistic
            other = {m for m in GRAPH[name] if not _within(m, allowed)}
            assert not other, f"{name} imports {other}"


def test_only_the_cli_prints():
    for name, path in FILES.items():
        if name == "mfbd.cli":
            continue
        calls = [
            node.lineno
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
        ]
        assert not calls, f"{name} prints (lines {calls})"


@pytest.mark.parametrize("folder", ["mfbd", "experiments"])
def test_no_file_is_over_400_lines(folder):
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / folder).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, long


def test_alias_modules_are_short():
    for name in ALIASES:
        assert len(FILES[name].read_text().splitlines()) <= 25, name


def height(graph: dict[str, set[str]]) -> tuple[int, list[str]]:
    """The longest import chain (in modules) of an acyclic graph, and one such chain."""

    @functools.cache
    def chain(name: str) -> tuple[str, ...]:
        return (name, *max((chain(m) for m in graph[name]), key=len, default=()))

    best = max((chain(name) for name in graph), key=len)
    return len(best), list(best)


def test_no_cycle_and_the_import_chain_is_at_most_10_modules():
    state = dict.fromkeys(GRAPH, "new")

    def visit(name, path):
        state[name] = "open"
        for other in GRAPH[name]:
            assert state[other] != "open", f"import cycle: {' -> '.join([*path, name, other])}"
            if state[other] == "new":
                visit(other, [*path, name])
        state[name] = "done"

    for name in GRAPH:
        if state[name] == "new":
            visit(name, [])
    length, chain = height(GRAPH)
    assert length <= 10, " -> ".join(chain)


def test_the_run_directory_module_is_shared_and_the_cli_is_the_top():
    assert "mfbd.runner.rundir" in GRAPH["mfbd.runner"] and "mfbd.runner.rundir" in GRAPH["mfbd.plotting"]
    assert [name for name, deps in GRAPH.items() if "mfbd.cli" in deps] == ["mfbd.__main__"]


#: Files of experiments/ still using private mfbd names, owned by engineers editing them now (issue 20).
PRIVATE_ALLOWED = {
    "experiments/benchmarks/notebook_numpy.py",
    "experiments/benchmarks/sweep.py",
    "experiments/benchmarks/compile_cache.py",
}


def _private_mfbd_names(path: pathlib.Path) -> list[str]:
    """The private mfbd names a file uses: ``mfbd._x`` modules, ``from mfbd.x import _y`` and ``m._y`` on an
    imported mfbd module ``m`` (dunder names are public)."""

    def private(part):
        return part.startswith("_") and not part.startswith("__")

    tree, found, modules = ast.parse(path.read_text()), [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "mfbd":
                    modules.add(a.asname or "mfbd")
                    found += [a.name] if any(map(private, a.name.split("."))) else []
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mfbd":
            found += [node.module] if any(map(private, node.module.split("."))) else []
            found += [f"{node.module}.{a.name}" for a in node.names if private(a.name)]
            modules |= {a.asname or a.name for a in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in modules:
                found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return found


def test_experiments_use_public_mfbd_names_only():
    """experiments/ uses mfbd's public names: no ``mfbd._x``, no ``from mfbd.x import _y``, no ``m._y``."""
    files = sorted((ROOT / "experiments").rglob("*.py"))
    assert len(files) > 20
    used = {str(p.relative_to(ROOT)): names for p in files if (names := _private_mfbd_names(p))}
    assert set(used) <= PRIVATE_ALLOWED, {k: v for k, v in used.items() if k not in PRIVATE_ALLOWED}


def test_the_private_name_check_finds_each_form(tmp_path):
    """The check of experiments/ catches the three forms and passes public names and dunders."""
    path = tmp_path / "x.py"
    path.write_text(
        "import mfbd\nimport mfbd.pde as pde\nfrom mfbd.runner import _init_fn, run\nfrom mfbd._checks import x\n"
        "from mfbd import problems\nmfbd.simulate._summarise\npde._grid\nproblems.__name__\nmfbd.simulate.run_chunk\n"
    )
    found = _private_mfbd_names(path)
    assert found[:2] == ["mfbd.runner._init_fn", "mfbd._checks"]
    assert [f.split(" ")[0] for f in found[2:]] == ["mfbd.simulate._summarise", "pde._grid"]
