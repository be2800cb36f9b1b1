"""Errors caused by the user's input: the command line turns them into one message and exit 2."""


class InputError(Exception):
    """Bad input from the user (a config, a data file, a checkpoint); the message says where."""


class ConfigError(InputError):
    """A config file or a `section.field=value` override is invalid."""


class DataError(InputError):
    """A data file is missing, unreadable or holds values the model cannot use."""


class CheckpointError(InputError):
    """A checkpoint is missing, corrupt, unsafe or does not fit the model."""


def require(condition: bool, name: str, message: str) -> None:
    """Config validation: a ConfigError naming the field `name` unless `condition` holds."""
    if not condition:
        raise ConfigError(f"{name}: {message}")
