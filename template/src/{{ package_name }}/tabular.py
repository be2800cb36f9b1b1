"""Tabular features: column detection, the fitted encoding, and an in-memory dataset served by batch.

Missing values, by policy: a missing number becomes the training mean (0 after
standardization); a missing category becomes the category "<missing>", which gets its
own embedding when training saw it; a category training never saw maps to index 0,
the shared "unknown" embedding.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from .config import DataConfig
from .errors import DataError

MISSING = "<missing>"


class Batch(NamedTuple):
    """Model inputs (passed as `model(*inputs)`) and the target."""

    inputs: tuple[torch.Tensor, ...]
    target: torch.Tensor

    def to(self, device: torch.device, non_blocking: bool = False) -> Batch:
        return Batch(
            tuple(x.to(device, non_blocking=non_blocking) for x in self.inputs),
            self.target.to(device, non_blocking=non_blocking),
        )


class TabularTensors(Dataset[Batch]):
    """Whole columns as tensors; indexing with a list of rows returns a whole batch in one gather.

    Used with a `BatchSampler` and `batch_size=None`, the DataLoader asks for a batch
    at once: one index op per tensor instead of per-row `__getitem__` plus collate,
    which is 30-40x slower on small rows.
    """

    def __init__(
        self, numeric: torch.Tensor, categorical: torch.Tensor, target: torch.Tensor
    ) -> None:
        if not len(numeric) == len(categorical) == len(target):
            raise ValueError("numeric, categorical and target need the same number of rows")
        self.numeric = numeric
        self.categorical = categorical
        self.target = target

    def __len__(self) -> int:
        return len(self.target)

    def __getitem__(self, index: int | list[int] | torch.Tensor) -> Batch:
        return Batch((self.numeric[index], self.categorical[index]), self.target[index])


class TabularEncoder:
    """Numeric columns standardized with training statistics; categorical columns as vocabulary indices."""

    def __init__(
        self,
        numeric: list[str],
        categorical: list[str],
        mean: list[float],
        std: list[float],
        vocab: dict[str, list[str]],
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.mean = mean
        self.std = std
        self.vocab = vocab

    @classmethod
    def fit(cls, frame: pd.DataFrame, config: DataConfig, where: str) -> TabularEncoder:
        """Pick the feature columns and learn their statistics from the training split only."""
        numeric, categorical = _feature_columns(frame, config, where)
        values = _numeric_values(frame, numeric, where)
        with np.errstate(all="ignore"):
            mean = np.nan_to_num(np.nanmean(values, axis=0), nan=0.0) if numeric else np.zeros(0)
            std = np.nan_to_num(np.nanstd(values, axis=0), nan=1.0) if numeric else np.zeros(0)
        std[std == 0] = 1.0
        vocab = {name: sorted(_categories(frame[name]).unique().tolist()) for name in categorical}
        return cls(numeric, categorical, mean.tolist(), std.tolist(), vocab)

    @property
    def cardinalities(self) -> list[int]:
        """Embedding rows per categorical column: the vocabulary plus index 0 for unknown values."""
        return [len(self.vocab[name]) + 1 for name in self.categorical]

    def transform(self, frame: pd.DataFrame, where: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(numeric float32 [rows, n_numeric], categorical int64 [rows, n_categorical])."""
        missing = [name for name in self.numeric + self.categorical if name not in frame.columns]
        if missing:
            raise DataError(
                f"{where}: missing feature column(s) {missing}; the model was trained on "
                f"{self.numeric + self.categorical}"
            )
        values = _numeric_values(frame, self.numeric, where)
        values = (values - np.asarray(self.mean)) / np.asarray(self.std)
        numeric = torch.from_numpy(np.nan_to_num(values, nan=0.0).astype(np.float32))
        # get_indexer gives -1 for values outside the vocabulary: +1 makes them index 0, "unknown".
        codes = [
            pd.Index(self.vocab[name]).get_indexer(_categories(frame[name])).astype(np.int64) + 1
            for name in self.categorical
        ]
        categorical = torch.from_numpy(
            np.stack(codes, axis=1) if codes else np.zeros((len(frame), 0), dtype=np.int64)
        )
        return numeric, categorical

    def state_dict(self) -> dict[str, Any]:
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "mean": self.mean,
            "std": self.std,
            "vocab": self.vocab,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TabularEncoder:
        return cls(**state)


def _feature_columns(
    frame: pd.DataFrame, config: DataConfig, where: str
) -> tuple[list[str], list[str]]:
    excluded = {config.target, *config.drop_columns}
    listed = (config.numeric_columns or []) + (config.categorical_columns or [])
    unknown = [name for name in listed + config.drop_columns if name not in frame.columns]
    if unknown:
        raise DataError(
            f"{where}: no column(s) {unknown} (listed in data.*_columns); "
            f"the file has {list(frame.columns)}"
        )
    if config.target in listed:
        raise DataError(f"{where}: the target '{config.target}' is also listed as a feature column")
    if config.numeric_columns is not None:
        numeric = list(config.numeric_columns)
    else:
        numeric = [
            name
            for name in frame.columns
            if name not in excluded
            and name not in (config.categorical_columns or [])
            and pd.api.types.is_numeric_dtype(frame[name])
            and not pd.api.types.is_bool_dtype(frame[name])
        ]
    if config.categorical_columns is not None:
        categorical = list(config.categorical_columns)
    else:
        categorical = [
            name
            for name in frame.columns
            if name not in excluded
            and name not in numeric
            and (
                not pd.api.types.is_numeric_dtype(frame[name])
                or pd.api.types.is_bool_dtype(frame[name])
            )
        ]
        for name in categorical:
            _reject_numbers_with_typos(frame[name], where)
    if not numeric and not categorical:
        raise DataError(f"{where}: no feature columns besides the target '{config.target}'")
    return numeric, categorical


def _reject_numbers_with_typos(column: pd.Series, where: str) -> None:
    """A text column whose values are nearly all numbers is a numeric column with bad cells."""
    present = column.dropna()
    if pd.api.types.is_bool_dtype(column) or len(present) == 0:
        return
    parsed = pd.to_numeric(present, errors="coerce")
    bad = present[parsed.isna()]
    if len(bad) and parsed.notna().mean() >= 0.9:
        row = bad.index[0] + 1
        raise DataError(
            f"{where}: column '{column.name}' looks numeric but row {row} holds {bad.iloc[0]!r} "
            f"({len(bad)} such rows); fix those cells, or list the column in "
            f"data.categorical_columns if it really is a category"
        )


def _numeric_values(frame: pd.DataFrame, columns: list[str], where: str) -> np.ndarray:
    for name in columns:
        if not pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(
            frame[name]
        ):
            parsed = pd.to_numeric(frame[name], errors="coerce")
            bad = np.flatnonzero(parsed.isna().to_numpy() & frame[name].notna().to_numpy())
            if len(bad):
                raise DataError(
                    f"{where}: numeric column '{name}' holds {frame[name].iloc[bad[0]]!r} in row "
                    f"{frame.index[bad[0]] + 1}, not a number ({len(bad)} such rows)"
                )
    if not columns:
        return np.zeros((len(frame), 0))
    return frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)


def _categories(column: pd.Series) -> pd.Series:
    return column.astype("string").fillna(MISSING).astype(str)
