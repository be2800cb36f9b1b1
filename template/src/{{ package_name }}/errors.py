"""Errors the command line turns into one message: bad input exits 2, a failed run 1, a signal 128+N."""


class InputError(Exception):
    """Bad input from the user (a config, a data file, a checkpoint); the message says where."""


class ConfigError(InputError):
    """A config file or a `section.field=value` override is invalid."""


class DataError(InputError):
    """A data file is missing, unreadable or holds values the model cannot use."""


class CheckpointError(InputError):
    """A checkpoint is missing, corrupt, unsafe or does not fit the model."""


class CorruptCheckpointError(CheckpointError):
    """A checkpoint file is truncated or unreadable (as opposed to refused as unsafe)."""


class TrainingError(Exception):
    """Training itself failed (a NaN or infinite loss); the command line exits with status 1."""


class Interrupted(Exception):
    """SIGINT or SIGTERM stopped training after a checkpoint; exits with 128 + the signal number."""

    def __init__(self, signum: int, checkpoint: str) -> None:
        super().__init__(f"stopped by signal {signum}; resume with --resume (saved {checkpoint})")
        self.signum = signum
        self.exit_code = 128 + signum


def require(condition: bool, name: str, message: str) -> None:
    """Config validation: a ConfigError naming the field `name` unless `condition` holds."""
    if not condition:
        raise ConfigError(f"{name}: {message}")
