"""Config files read again as YAML text, for what Snakemake's merged dict has lost: the
file and line of a parse error, of a duplicated key and of the value a check rejects."""

import json
import os
from pathlib import Path

import yaml

from .errors import ConfigError, ConfigFileError, dotted, key_parts


def _shown(path):
    """``path`` relative to the working directory when it lies below it."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def _compose(path):
    """The YAML node tree of a config file; a parse error names the file, line and column."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(filter(None, [getattr(err, "context", None), getattr(err, "problem", None)]))
        tabs = "; indent with spaces, not tabs" if "\t" in text else ""
        raise ConfigFileError(f"config file '{_shown(path)}'{where}: not valid YAML ({problem or err}){tabs}") from None


def check_parses(path):
    """Raise ConfigFileError (file and line) unless ``path`` is a JSON or YAML mapping,
    the two forms Snakemake accepts; Snakemake's own message names neither. A missing file
    is left to Snakemake (it is optional when --configfile is given)."""
    if not Path(path).is_file():
        return
    try:
        if isinstance(json.loads(Path(path).read_text(encoding="utf-8")), dict):
            return
    except ValueError:
        pass
    if not isinstance(_compose(path), yaml.MappingNode):
        raise ConfigFileError(f"config file '{_shown(path)}': must hold keys at the top level (a YAML mapping)")


def _readable(path):
    """The node tree, or None for a file PyYAML cannot read (Snakemake read it as JSON)."""
    try:
        return _compose(path)
    except (ConfigFileError, OSError):
        return None


def _loaded(path):
    """The file's data as PyYAML reads it, or None."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError):
        return None


def _duplicates(node, parts=()):
    """(key parts, first line, second line) of every key a mapping gives twice."""
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            line = key.start_mark.line + 1
            if key.value in seen:
                yield parts + (key.value,), seen[key.value], line
            seen[key.value] = line
            yield from _duplicates(value, parts + (key.value,))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicates(item, parts + (i,))


def check_duplicate_keys(path):
    """PyYAML keeps the last of two equal keys without a word: reject them, naming both lines."""
    for parts, first, second in _duplicates(_readable(path)):
        raise ConfigError(
            dotted(parts),
            f"given twice in {_shown(path)} (lines {first} and {second}); YAML would keep only the last",
        )


def _line(node, parts):
    """1-based line where ``parts`` is set in the node tree, or None."""
    line = None
    for part in parts:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = [(k, v) for k, v in node.value if k.value == part]
            if not match:
                return None
            line, node = match[-1][0].start_mark.line + 1, match[-1][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return None
    return line


_MISSING = object()


def _lookup(data, parts):
    for part in parts:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return data


def _same(a, b):
    """Equal as config values (NaN equals NaN; mappings merge, so any two count as equal)."""
    return (isinstance(a, dict) and isinstance(b, dict)) or repr(a) == repr(b)


def locate(files, key, cfg):
    """'file:line' of each config file whose value of ``key`` is the one in the merged ``cfg``."""
    parts, found = key_parts(key), []
    value = _lookup(cfg, parts)
    for path in files:
        node = _readable(path)
        line = _line(node, parts) if node is not None else None
        if line is not None and _same(_lookup(_loaded(path), parts), value):
            found.append(f"{_shown(path)}:{line}")
    return found
