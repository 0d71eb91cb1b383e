"""Package code as a declared dependency of the rules.

Snakemake's code trigger sees only a rule's entry script. ``code_digest`` hashes the
``latedecay`` modules that script imports, transitively, as the parser reads them
(comments, docstrings and layout left out), so a rule whose params carry the digest
reruns exactly when code it runs changes, and a comment-only edit reruns nothing.
"""

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

PACKAGE = "latedecay"


def _strip_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _module_file(root, name):
    """The file of module ``name`` (a package's __init__.py), or None outside the package."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    base = Path(root, *name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imported(tree, name, is_package):
    """Module names an import statement in module ``name`` may load (submodules too)."""
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".") if node.level else []
            base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _with_parents(name):
    """A module and the packages above it, whose __init__ runs on import."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def package_modules(root, script):
    """{module name: normalized source} of every package module ``script`` imports, transitively."""
    seen, todo = {}, [("__main__", Path(script), False)]
    while todo:
        name, path, is_package = todo.pop()
        tree = _strip_docstrings(ast.parse(path.read_text(), filename=str(path)))
        if name != "__main__":
            seen[name] = ast.unparse(tree)
        for imported in _imported(tree, name, is_package):
            for module in _with_parents(imported):
                file = _module_file(root, module)
                if file and module not in seen and all(module != t[0] for t in todo):
                    todo.append((module, file, file.name == "__init__.py"))
    return dict(sorted(seen.items()))


@lru_cache(maxsize=None)
def code_digest(scripts_dir, script):
    """Digest of the package code that entry script ``script`` (in ``scripts_dir``) runs."""
    digest = hashlib.sha256()
    for name, source in package_modules(scripts_dir, Path(scripts_dir) / script).items():
        digest.update(f"{name}\0{source}\0".encode())
    return digest.hexdigest()[:16]
