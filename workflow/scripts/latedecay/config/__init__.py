"""The config's validation, a one-way stack: ``errors`` (the errors and dotted keys) at
the bottom; above it ``files`` (the YAML text again: parse errors, duplicate keys,
file:line), ``schema`` (the JSON schema with defaults, non-finite numbers) and
``checks`` (across keys), each importing only ``errors``; ``validate_config`` here on
top runs them all. No torch below: the Snakefile imports this package at parse time."""

from .checks import check_config
from .errors import ConfigError, ConfigFileError
from .files import check_duplicate_keys, check_parses, locate
from .schema import check_finite, validate

__all__ = ["ConfigError", "ConfigFileError", "check_parses", "validate_config"]


def validate_config(cfg, schema, files=()):
    """Reject a bad config before any job, naming the key (and the file:line that set it).

    ``cfg`` is Snakemake's merged config, completed in place with the schema's defaults;
    ``files`` are the config files it was merged from (workflow.configfiles).
    """
    for path in files:
        check_duplicate_keys(path)
    try:
        check_finite(cfg)
        validate(cfg, schema)
        check_config(cfg)
    except ConfigError as err:
        where = locate(files, err.key, cfg)
        if not where:
            raise
        raise ConfigError(err.key, f"{err.message} (set in {', '.join(where)})") from None
