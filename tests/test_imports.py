"""The package's shape, read from the source (ast, nothing imported): no import cycle,
drawing (``plots``) above the science, ``config.errors`` at the bottom, and no function
with a long parameter list. The walker is itself tested on a tiny package in tmp_path."""

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "workflow" / "scripts" / "latedecay"
MAX_PARAMETERS = 8


def package_modules(root):
    """{dotted module name: path} of every module of the package at ``root``."""
    out = {}
    for path in sorted(Path(root).rglob("*.py")):
        parts = path.relative_to(Path(root).parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _base(node, name, is_package):
    """The absolute module an ``ImportFrom`` names (``from ..x import y`` -> 'pkg.x')."""
    if not node.level:
        return node.module
    package = name.split(".") if is_package else name.split(".")[:-1]
    package = package[: len(package) - node.level + 1]
    return ".".join(package + ([node.module] if node.module else []))


def _targets(node, name, is_package, modules):
    """Modules of the package one import statement loads (a ``from`` name that is a submodule
    counts as that submodule; parent packages run first anyway, so they are no edge)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = _base(node, name, is_package)
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    for target in names:
        while target and target not in modules:  # `import pkg.mod.attr` style: the module part
            target = target.rpartition(".")[0]
        if target:
            yield target


def import_graph(root):
    """{module: {imported module: (file, line) of the first such import}}, imports inside
    functions included."""
    modules = package_modules(root)
    graph = {}
    for name, path in modules.items():
        edges = graph.setdefault(name, {})
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(node, name, path.name == "__init__.py", modules):
                    if target != name:
                        edges.setdefault(target, (path.relative_to(root).as_posix(), node.lineno))
    return graph


def find_cycles(graph):
    """Each import cycle once, as [a, b, ..., a] (a depth-first search's back edges)."""
    cycles, seen, done, stack = [], set(), set(), []

    def visit(name):
        stack.append(name)
        for target in sorted(graph.get(name, ())):
            if target in stack:
                cycle = stack[stack.index(target) :] + [target]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    cycles.append(cycle)
            elif target not in done:
                visit(target)
        stack.pop()
        done.add(name)

    for name in sorted(graph):
        if name not in done:
            visit(name)
    return cycles


def _under(name, prefixes):
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def upward_imports(graph, package, below, above):
    """'path:line: a imports b' for each module under ``below`` that imports one under ``above``."""
    low = [f"{package}.{m}" for m in below]
    high = [f"{package}.{m}" for m in above]
    return [
        f"{where}:{line}: {name} imports {target}"
        for name, edges in sorted(graph.items())
        if _under(name, low)
        for target, (where, line) in sorted(edges.items())
        if _under(target, high)
    ]


def parameter_count(fn):
    """Positional, keyword-only, *args and **kwargs parameters, each one; self/cls not."""
    a = fn.args
    positional = [*a.posonlyargs, *a.args]
    count = len(positional) + len(a.kwonlyargs) + (a.vararg is not None) + (a.kwarg is not None)
    return count - bool(positional and positional[0].arg in ("self", "cls"))


def _functions(node, prefix):
    """(qualified name, node) of every function and method below ``node``, nested ones too."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield f"{prefix}.{child.name}", child
            yield from _functions(child, f"{prefix}.{child.name}")
        else:
            yield from _functions(child, f"{prefix}.{child.name}" if isinstance(child, ast.ClassDef) else prefix)


def wide_functions(root, limit, skip=()):
    """'path:line: name takes N parameters' for each function over ``limit``, outside ``skip``."""
    package = Path(root).name
    out = []
    for name, path in package_modules(root).items():
        if _under(name, [f"{package}.{m}" for m in skip]):
            continue
        for qualname, fn in _functions(ast.parse(path.read_text(encoding="utf-8"), str(path)), name):
            if parameter_count(fn) > limit:
                where = f"{path.relative_to(root).as_posix()}:{fn.lineno}"
                out.append(f"{where}: {qualname} takes {parameter_count(fn)} parameters")
    return out


# ---------------------------------------------------------------- the package


def test_no_import_cycle():
    cycles = find_cycles(import_graph(PACKAGE))
    assert not cycles, "import cycles (modules must import one way; move what both need down):\n" + "\n".join(
        " -> ".join(cycle) for cycle in cycles
    )


def test_science_does_not_import_plots():
    """Every module and subpackage but plots/ itself sits below the drawing."""
    below = sorted({name.split(".")[1] for name in package_modules(PACKAGE) if name.count(".")} - {"plots"})
    assert {"toy", "nn", "landscape", "config", "verdict", "fig1_panels"} <= set(below)
    offenders = upward_imports(import_graph(PACKAGE), "latedecay", below, ["plots"])
    assert not offenders, "drawing sits above science: these must not import latedecay.plots:\n" + "\n".join(offenders)


def test_config_errors_imports_nothing_of_the_package():
    edges = import_graph(PACKAGE)["latedecay.config.errors"]
    assert not edges, f"latedecay.config.errors is the config package's bottom, yet imports {sorted(edges)}"


def test_no_function_takes_more_than_8_parameters():
    offenders = wide_functions(PACKAGE, MAX_PARAMETERS, skip=["plots"])
    rule = f"at most {MAX_PARAMETERS} parameters per function outside latedecay.plots (group them)"
    assert not offenders, f"{rule}:\n" + "\n".join(offenders)


# ---------------------------------------------------------------- the walker


def _write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_walker_resolves_every_import_form(tmp_path):
    pkg = _write(
        tmp_path / "pkg",
        {
            "__init__.py": "",
            "a.py": "import pkg.sub.c\nfrom pkg.sub import d\n",
            "b.py": "from . import a, VALUE\nfrom .sub.c import name\n",
            "sub/__init__.py": "from .. import b\n",
            "sub/c.py": "def f():\n    from ..a import thing\n",
            "sub/d.py": "from . import *\nimport os\n",
        },
    )
    graph = {name: set(edges) for name, edges in import_graph(pkg).items()}
    assert graph == {
        "pkg": set(),
        "pkg.a": {"pkg.sub.c", "pkg.sub.d"},
        "pkg.b": {"pkg.a", "pkg", "pkg.sub.c"},
        "pkg.sub": {"pkg.b"},
        "pkg.sub.c": {"pkg.a"},
        "pkg.sub.d": {"pkg.sub"},
    }


def test_walker_finds_a_two_module_circle(tmp_path):
    pkg = _write(
        tmp_path / "pkg",
        {
            "__init__.py": "",
            "a.py": "def late():\n    from . import b\n",
            "b.py": "import pkg.a\n",
            "c.py": "from .a import late\n",
        },
    )
    assert find_cycles(import_graph(pkg)) == [["pkg.a", "pkg.b", "pkg.a"]]
    (pkg / "b.py").write_text("")
    assert find_cycles(import_graph(pkg)) == []


def test_walker_finds_an_upward_import(tmp_path):
    pkg = _write(
        tmp_path / "pkg",
        {
            "__init__.py": "",
            "plots/__init__.py": "",
            "plots/fig.py": "from ..nn import x\n",
            "nn/__init__.py": "",
            "nn/x.py": "def f():\n    from ..plots import fig\n",
        },
    )
    found = upward_imports(import_graph(pkg), "pkg", ["nn"], ["plots"])
    assert found == ["nn/x.py:2: pkg.nn.x imports pkg.plots.fig"]


def test_walker_finds_a_function_of_9_parameters(tmp_path):
    pkg = _write(
        tmp_path / "pkg",
        {
            "__init__.py": "",
            "a.py": (
                "def eight(a, b, c, d, e, f, g, h): pass\n"
                "def nine(a, b, /, c, *args, d, e, f, g, **kw): pass\n"
                "class K:\n"
                "    def method(self, a, b, c, d, e, f, g, h): pass\n"
                "    def wide(self, a, b, c, d, e, f, g, h, i): pass\n"
                "def outer():\n"
                "    def inner(a, b, c, d, e, f, g, h, i): pass\n"
            ),
            "plots/__init__.py": "def skipped(a, b, c, d, e, f, g, h, i): pass\n",
        },
    )
    assert wide_functions(pkg, 8, skip=["plots"]) == [
        "a.py:2: pkg.a.nine takes 9 parameters",
        "a.py:5: pkg.a.K.wide takes 9 parameters",
        "a.py:7: pkg.a.outer.inner takes 9 parameters",
    ]
