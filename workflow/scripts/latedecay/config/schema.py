"""The config schema: validation with defaults filled in (draft 2020-12, as
snakemake.utils.validate does) whose errors name the dotted config key, and the check
for non-finite numbers that JSON schema bounds let through (NaN passes ``minimum``)."""

import copy
import functools
import math
import re
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from .errors import ConfigError, dotted


def _fill_defaults(validator, properties, instance):
    if validator.is_type(instance, "object"):
        for key, sub in properties.items():
            if "default" in sub:
                instance.setdefault(key, copy.deepcopy(sub["default"]))


def _properties_with_defaults(validator, properties, instance, schema):
    """``properties`` that first fills in each absent key's ``default``."""
    _fill_defaults(validator, properties, instance)
    yield from Draft202012Validator.VALIDATORS["properties"](validator, properties, instance, schema)


def _required_after_defaults(validator, required, instance, schema):
    """``required`` checked after the defaults are in (a key with a default may be left out)."""
    _fill_defaults(validator, schema.get("properties", {}), instance)
    yield from Draft202012Validator.VALIDATORS["required"](validator, required, instance, schema)


_DefaultsValidator = validators.extend(
    Draft202012Validator, {"properties": _properties_with_defaults, "required": _required_after_defaults}
)


@functools.lru_cache
def _validator(schema_path):
    return _DefaultsValidator(yaml.safe_load(Path(schema_path).read_text()))


def check_finite(cfg, parts=()):
    """YAML's .nan and .inf are numbers to the schema: reject them anywhere."""
    if isinstance(cfg, float) and not math.isfinite(cfg):
        raise ConfigError(dotted(parts), f"{cfg} is not a finite number")
    items = cfg.items() if isinstance(cfg, dict) else enumerate(cfg) if isinstance(cfg, list) else ()
    for key, value in items:
        check_finite(value, parts + (key,))


def _number_types(error):
    """JSON number types the failing schema (or an enclosing oneOf/anyOf) admits."""
    types = set()
    while error is not None:
        for sub in [error.schema, *error.schema.get("oneOf", []), *error.schema.get("anyOf", [])]:
            kind = sub.get("type", []) if isinstance(sub, dict) else []
            types |= {kind} if isinstance(kind, str) else set(kind)
        error = error.parent
    return types & {"number", "integer"}


_EXPONENT = re.compile(r"([-+]?\d+)(?:\.(\d*))?[eE]([-+]?)(\d+)")


def _as_yaml_number(text, integer):
    """``text`` spelled so that YAML reads a number (PyYAML floats need a dot and a signed
    exponent: 1e-2 is a string, 1.0e-2 a float), or None."""
    value = float(text)
    if integer and value.is_integer():
        return str(int(value))
    match = _EXPONENT.fullmatch(text.strip())
    fix = f"{match[1]}.{match[2] or 0}e{match[3] or '+'}{match[4]}" if match else text.strip()
    return fix if isinstance(yaml.safe_load(fix), (int, float)) else None


def _text_number_hint(error):
    """For a number written so that YAML reads text: say so, and how to write it."""
    types, text = _number_types(error), error.instance
    if not (types and isinstance(text, str)):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return f"{text!r} is text, and numbers must be finite anyway"
    fix = _as_yaml_number(text, "number" not in types)
    return f"{text!r} is text, not a number (YAML reads {text} as a string)" + (f"; write {fix}" if fix else "")


def _key_and_message(error):
    """(dotted key, message) of a schema error; unknown and missing keys are named themselves."""
    parts = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = error.schema.get("properties", {})
        extra = sorted(set(error.instance) - set(allowed), key=str)
        return dotted(parts + (extra[0],)), f"unknown key (a typo?); known keys here: {', '.join(allowed)}"
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return dotted(parts + (missing[0],)), "required key is missing"
    return dotted(parts), _text_number_hint(error) or error.message


def validate(cfg, schema_path):
    """Validate ``cfg`` against the schema file, filling in defaults; raise ConfigError."""
    error = best_match(_validator(str(schema_path)).iter_errors(cfg))
    if error is not None:
        raise ConfigError(*_key_and_message(error))
