"""One software spec: requirements.txt pins the versions; envs/*.yaml (--sdm conda) and
containers/latedecay.def (--sdm apptainer) must name the same ones.

The one allowed difference: a conda env may pin a CUDA build of torch/torchvision for an
older cluster driver, i.e. the same release with a PEP 440 local label (2.14.1+cu128 for
2.14.1). Also checked: each rule's env holds every third-party module its script imports.
"""

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from conftest import REPO

ENVS = {"torch": REPO / "envs" / "torch.yaml", "plot": REPO / "envs" / "plot.yaml"}
DEFINITION = REPO / "containers" / "latedecay.def"
KEY_PACKAGES = {
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "matplotlib",
    "pandas",
    "snakemake",
    "snakemake-executor-plugin-slurm",
}
CUDA_BUILDS = {"torch", "torchvision"}  # may carry a +cuXYZ local label in a conda env
MODULE_TO_PACKAGE = {"yaml": "pyyaml", "PIL": "pillow", "sklearn": "scikit-learn"}
SCRIPTS = REPO / "workflow" / "scripts"


def pins(lines):
    """{normalized name: version} of `name==version` lines (comments and options skipped)."""
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier  # exactly one specifier per line ...
        assert spec.operator == "==", f"{line!r} is not pinned with =="  # ... and a pin
        out[req.name.lower().replace("_", "-")] = spec.version
    return out


def requirements():
    return pins((REPO / "requirements.txt").read_text().splitlines())


def conda_env(path):
    env = yaml.safe_load(path.read_text())
    deps = env["dependencies"]
    conda = dict(d.split("=", 1) for d in deps if isinstance(d, str))
    pip = next((d["pip"] for d in deps if isinstance(d, dict)), [])
    return env, conda, pins(pip)


def same_release(env_version, pinned, name):
    """The env's version is the pinned one, or (torch/torchvision) its CUDA build."""
    env_v, pin_v = Version(env_version), Version(pinned)
    if env_v.local:
        return name in CUDA_BUILDS and re.fullmatch(r"cu\d+", env_v.local) and env_v.public == pin_v.public
    return env_v == pin_v


@pytest.mark.parametrize(
    "env, pinned, name, ok",
    [
        ("2.14.1", "2.14.1", "torch", True),
        ("2.14.1+cu128", "2.14.1", "torch", True),
        ("2.15.0+cu130", "2.14.1", "torch", False),
        ("2.14.1+cpu", "2.14.1", "torch", False),
        ("2.4.6+cu128", "2.4.6", "numpy", False),
        ("2.4.5", "2.4.6", "numpy", False),
    ],
)
def test_the_cuda_build_rule(env, pinned, name, ok):
    assert bool(same_release(env, pinned, name)) is ok


def test_requirements_pin_the_key_packages():
    assert KEY_PACKAGES <= requirements().keys()


@pytest.mark.parametrize("role", sorted(ENVS))
def test_conda_env_pins_match_requirements(role):
    env, conda, pip = conda_env(ENVS[role])
    assert env["channels"][-1] == "nodefaults" and "defaults" not in env["channels"]
    assert re.fullmatch(r"3\.\d+", conda["python"]) and "pip" in conda
    req = requirements()
    assert pip, f"{role}: no pinned pip packages"
    for name, version in pip.items():
        assert name in req, f"envs/{role}.yaml pins {name}, requirements.txt does not"
        assert same_release(version, req[name], name), f"envs/{role}.yaml: {name} {version} != {req[name]}"


def test_envs_cover_their_roles():
    assert {"torch", "torchvision", "numpy"} <= conda_env(ENVS["torch"])[2].keys()
    assert {"matplotlib", "numpy"} <= conda_env(ENVS["plot"])[2].keys()
    assert "torch" not in conda_env(ENVS["plot"])[2]  # keep the plotting env light


def test_python_versions_agree():
    env_pythons = {conda_env(path)[1]["python"] for path in ENVS.values()}
    base = re.search(r"^From:\s*python:(\d+\.\d+)\.\d+-", DEFINITION.read_text(), re.M)
    assert base, "container base image is not a pinned python:X.Y.Z image"
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert env_pythons == {base.group(1)} == {here}


def test_container_installs_exactly_the_requirements():
    text = DEFINITION.read_text()
    files = re.search(r"^%files\n((?:[ \t]+.*\n)+)", text, re.M).group(1).split("\n")
    copied = dict(line.split() for line in files if line.strip())
    assert copied["requirements.txt"] == "/opt/latedecay/requirements.txt"
    post = re.search(r"^%post\n((?:[ \t]+.*\n)+)", text, re.M).group(1)
    assert "pip install --no-cache-dir -r /opt/latedecay/requirements.txt" in post
    assert not re.search(r"pip install (?!--no-cache-dir -r )", post), "a package installed outside the pins"


def test_snakefile_container_tag_is_the_definition_version():
    version = re.search(r"org\.opencontainers\.image\.version\s+(\S+)", DEFINITION.read_text()).group(1)
    line = re.search(r'^container: "(.+)"$', (REPO / "Snakefile").read_text(), re.M).group(1)
    assert line == f"containers/latedecay-{version}.sif"


@pytest.mark.parametrize("package", sorted(KEY_PACKAGES))
def test_this_environment_matches_the_pins(package):
    assert metadata.version(package) == requirements()[package]


def module_imports(path):
    """Top-level imports of a module (imports inside functions are deliberately lazy)."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                base = ".".join(path.relative_to(SCRIPTS).with_suffix("").parts[: -node.level])
                if path.name == "__init__.py":
                    base = ".".join(path.relative_to(SCRIPTS).parts[: -node.level])
                mod = f"{base}.{node.module}" if node.module else base
                names |= {mod} | {f"{mod}.{alias.name}" for alias in node.names}
            else:
                names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def third_party_imports(script):
    """Third-party top-level modules reachable from an entry script through latedecay."""
    seen, todo, found = set(), [script], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in module_imports(path):
            root = name.split(".")[0]
            if root != "latedecay":
                if root not in sys.stdlib_module_names:
                    found.add(MODULE_TO_PACKAGE.get(root, root).lower())
                continue
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # the package __init__s along the way
                for candidate in (
                    SCRIPTS.joinpath(*parts[:i], "__init__.py"),
                    SCRIPTS.joinpath(*parts[:i]).with_suffix(".py"),
                ):
                    if candidate.exists():
                        todo.append(candidate)
    return found


def rules_with_env_and_script():
    text = "\n".join(p.read_text() for p in sorted((REPO / "workflow" / "rules").glob("*.smk")))
    blocks = re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", text, re.M)
    out = []
    for name, body in blocks:
        env = re.search(r'conda:\s*\n\s*"\.\./\.\./envs/(\w+)\.yaml"', body)
        script = re.search(r'script:\s*\n\s*"\.\./scripts/([\w/]+\.py)"', body)
        if env and script:
            out.append((name, env.group(1), SCRIPTS / script.group(1)))
    return out


def test_every_rule_env_holds_what_its_script_imports():
    rules = rules_with_env_and_script()
    assert len(rules) >= 5
    for name, env, script in rules:
        assert env in ENVS, f"rule {name}: unknown env {env}"
        provided = conda_env(ENVS[env])[2].keys()
        missing = third_party_imports(script) - provided
        assert not missing, f"rule {name} ({script.name}) imports {sorted(missing)}, missing in envs/{env}.yaml"
