"""Settings dataclasses whose fields are read from the config: the one way a rule family's
settings object lists its keys (nn.settings.TrainSettings, landscape.settings.LandscapeSettings).

Each field names the config section (and key, where its name differs) it comes from; a
field typed as another such dataclass nests. ``params`` gives the rules' params value, a
key-sorted dict (Snakemake compares params by their repr); ``build`` turns it back.
"""

from dataclasses import field, fields, is_dataclass


def from_config(section, key=None, **default):
    """A dataclass field read from ``config[section][key or its name]``."""
    return field(metadata={"section": section, "key": key}, **default)


def params(cls, config):
    """``cls``'s fields from ``config``, key-sorted, nested dataclasses as nested dicts."""
    return {
        f.name: (
            params(f.type, config)
            if is_dataclass(f.type)
            else config[f.metadata["section"]][f.metadata["key"] or f.name]
        )
        for f in sorted(fields(cls), key=lambda f: f.name)
    }


def build(cls, values):
    """``cls`` from a ``params`` dict."""
    return cls(
        **{f.name: build(f.type, values[f.name]) if is_dataclass(f.type) else values[f.name] for f in fields(cls)}
    )
