"""Every key of the schema, fuzzed: a wrong type, each out-of-range value the schema's
bounds and enums imply, non-finite numbers and numbers YAML reads as text are all
rejected before any job, naming the key. The table is derived from the schema's
``properties`` (``$ref``s followed), so a new key is fuzzed without touching this file."""

import copy
import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from conftest import REPO, run_snakemake
from latedecay.config import ConfigError, validate_config
from latedecay.config.errors import dotted

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
ROOT = yaml.safe_load(SCHEMA.read_text())
PAPER = yaml.safe_load((REPO / "config.yaml").read_text())


def resolve(schema):
    """Follow local ``$ref``s ("#/a/b"); keywords beside a ``$ref`` (toy.sgd's required) stay."""
    while "$ref" in schema:
        target = ROOT
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def keys(schema=ROOT, parts=()):
    """(key parts, resolved subschema) of every key below ``schema``, objects included."""
    for name, sub in resolve(schema).get("properties", {}).items():
        sub = resolve(sub)
        yield parts + (name,), sub
        if "properties" in sub:
            yield from keys(sub, parts + (name,))


LEAVES = [(parts, sub) for parts, sub in keys() if "properties" not in sub]
OBJECTS = [((), ROOT)] + [(parts, sub) for parts, sub in keys() if "properties" in sub]


def branches(schema):
    return [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]


def json_type(value):
    kinds = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        type(None): "null",
        list: "array",
        dict: "object",
    }
    return kinds[type(value)]


def allowed_types(schema):
    types = set()
    for b in branches(schema):
        kind = b.get("type", [])
        types |= {kind} if isinstance(kind, str) else set(kind)
        types |= {json_type(v) for v in b.get("enum", [])} | ({json_type(b["const"])} if "const" in b else set())
    return types | ({"integer"} if "number" in types else set())


def rejects(schema, value):
    return not Draft202012Validator(schema).is_valid(value)


def wrong_type(schema):
    types = allowed_types(schema)
    return next(v for v in ["text", 2.5, 7, True, None, [1], {"k": 1}] if json_type(v) not in types)


def _valid_item(items):
    """A value the ``items`` schema accepts (for arrays of the right length)."""
    return next(v for v in [1, 1.5, [1.0], "x"] if not rejects(items, v))


def out_of_range(schema):
    """Every value just past a bound, enum or length limit of ``schema`` that it rejects."""
    found = []
    for b in branches(schema):
        types = b.get("type", [])
        step = 1 if "integer" in ([types] if isinstance(types, str) else types) else 0.5
        found += [b["minimum"] - step] if "minimum" in b else []
        found += [b["exclusiveMinimum"]] if "exclusiveMinimum" in b else []
        found += [b["maximum"] + step] if "maximum" in b else []
        found += [b["exclusiveMaximum"]] if "exclusiveMaximum" in b else []
        found += [f"not-{b['enum'][0]}"] if "enum" in b else []
        found += [""] if b.get("minLength", 0) >= 1 else []
        if "items" in b:
            items = resolve(b["items"])
            found += [[bad] for bad in out_of_range(items)]
            found += [[_valid_item(items)] * (b["minItems"] - 1)] if "minItems" in b else []
            found += [[_valid_item(items)] * (b["maxItems"] + 1)] if "maxItems" in b else []
            found += [[_valid_item(items)] * 2] if b.get("uniqueItems") else []
    unique = []
    for value in found:
        if value not in unique and rejects(schema, value):
            unique.append(value)
    return unique


def numeric(schema):
    return bool(allowed_types(schema) & {"number", "integer"})


def numeric_items(schema):
    return any("items" in b and numeric(resolve(b["items"])) for b in branches(schema))


def cases():
    """(id, key parts, value, expected key, message fragment) for every leaf and object."""
    for parts, sub in LEAVES:
        key = dotted(parts)
        yield f"{key}=wrong-type", parts, wrong_type(sub), key, ""
        for i, value in enumerate(out_of_range(sub)):
            yield f"{key}=out-of-range{i}", parts, value, key, ""
        for value in (math.nan, math.inf):
            yield f"{key}={value}", parts, value, key, ""
        if numeric(sub):
            integer = "number" not in allowed_types(sub)
            text, fix = ("1e3", "write 1000") if integer else ("1e-2", "write 1.0e-2")
            yield f"{key}=text-number", parts, text, key, fix
        if numeric_items(sub):
            yield f"{key}=[nan]", parts, [math.nan], f"{key}[0]", "not a finite number"
    for parts, sub in OBJECTS:
        key = dotted(parts)
        if parts:
            yield f"{key}=wrong-type", parts, "text", key, ""
        if sub.get("additionalProperties") is False:
            unknown = parts + ("not_in_schema",)
            yield f"{key}+unknown", unknown, 1, dotted(unknown), "unknown key"
        for name in sub.get("required", []):
            if "default" not in resolve(sub["properties"][name]):  # else the default fills it in
                yield f"{key}-{name}", parts + (name,), DELETE, dotted(parts + (name,)), "required key is missing"


DELETE = object()
CASES = list(cases())


def with_value(parts, value):
    cfg = copy.deepcopy(PAPER)
    node = cfg
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if value is DELETE:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return cfg


def named(err, key):
    """The error names ``key`` itself or an entry of it (``key[0]``, ``key.sub``)."""
    return err.key == key or err.key.startswith((f"{key}[", f"{key}."))


def test_left_out_keys_get_their_schema_defaults():
    cfg = with_value(("toy", "gamma"), DELETE)  # required, with a default
    del cfg["landscape"]["levels"]
    validate_config(cfg, SCHEMA)
    assert cfg["toy"]["gamma"] == 2 and cfg["landscape"]["levels"] == 30


def test_every_schema_key_is_fuzzed():
    fuzzed = {parts for _, parts, *_ in CASES}
    assert {parts for parts, _ in LEAVES} <= fuzzed
    assert len(LEAVES) > 300  # 25 SGD keys in toy.sgd and in each of the 9 experiments, ...
    assert ("toy", "experiments", "fig4", "gradient_flow_lr") in fuzzed
    assert ("landscape", "grid", "pc2", "points") in fuzzed
    assert ("toy", "sgd", "model") in fuzzed and "toy.sgd-model" in {case_id for case_id, *_ in CASES}
    kinds = {case_id.split("=")[-1] for case_id, *_ in CASES}
    assert {"wrong-type", "out-of-range0", "nan", "inf", "text-number", "[nan]"} <= kinds


@pytest.mark.parametrize("case_id, parts, value, key, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_value_is_rejected_naming_the_key(case_id, parts, value, key, fragment):
    with pytest.raises(ConfigError) as err:
        validate_config(with_value(parts, value), SCHEMA)
    assert named(err.value, key), f"{case_id}: {err.value}"
    assert str(err.value).startswith(f"config key '{err.value.key}': ") and fragment in str(err.value)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(["1e-2", "1e3", "auto", "all", ".inf", "nan"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=6,
)


@settings(
    max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(leaf=st.sampled_from(LEAVES), value=JSON_VALUES)
def test_any_value_anywhere_passes_or_is_rejected_naming_a_key(leaf, value):
    """No value crashes the checks: it passes, or a ConfigError names a key (this one,
    when the schema alone rejects the value)."""
    parts, sub = leaf
    try:
        validate_config(with_value(parts, value), SCHEMA)
    except ConfigError as err:
        if rejects(sub, value) or contains_non_finite(value):
            assert named(err, dotted(parts)), str(err)


def contains_non_finite(value):
    if isinstance(value, float):
        return not math.isfinite(value)
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return any(contains_non_finite(v) for v in items)


@pytest.mark.parametrize(
    "case_id", ["train.momentum=nan", "toy.experiments.drift.lr=[nan]", "data.eval_set=wrong-type"]
)
def test_cli_rejects_fuzzed_config_before_any_job(tmp_path, case_id):
    _, parts, value, key, _ = next(c for c in CASES if c[0] == case_id)
    override = {}
    node = override
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(override))
    proc = run_snakemake("-n", "--configfile", bad, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and f"config key '{key}" in out and "Job stats" not in out
