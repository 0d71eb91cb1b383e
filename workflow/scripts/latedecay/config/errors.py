"""The bottom of the config package: its two errors and the dotted config keys they name.

Imports nothing of the package, so every other config module can import it."""

import re


class ConfigError(ValueError):
    """``config key 'a.b[0]': message``; ``key`` keeps the dotted key."""

    def __init__(self, key, message):
        super().__init__(f"config key '{key}': {message}")
        self.key, self.message = key, message


class ConfigFileError(ValueError):
    """A config file that does not parse, or is not a mapping: ``config file 'x', line N ...``."""


def require(ok, key, message):
    """Raise ``ConfigError(key, message)`` unless ``ok``: the one form every check takes."""
    if not ok:
        raise ConfigError(key, message)


def dotted(parts):
    """'a.b[0].c' from ('a', 'b', 0, 'c')."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def key_parts(key):
    """('a', 'b', 0, 'c') from 'a.b[0].c'."""
    return tuple(int(i) if i else name for name, i in re.findall(r"([^.\[\]]+)|\[(\d+)\]", key))
