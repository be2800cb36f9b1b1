"""The network: a plain nn.Module. Compilation and other wrappers are applied from outside."""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .tabular import TabularEncoder


class TabularMLP(nn.Module):
    """Embeddings of the categorical columns, concatenated with the numeric ones, through an MLP."""

    offsets: torch.Tensor

    def __init__(
        self,
        num_numeric: int,
        cardinalities: list[int],
        out_features: int,
        hidden_sizes: list[int],
        dropout: float = 0.1,
        embedding_dim: int = 8,
    ) -> None:
        super().__init__()
        # One table for all categorical columns, each column at its own offset: one
        # embedding lookup per batch instead of one per column.
        self.embedding = nn.Embedding(max(sum(cardinalities), 1), embedding_dim)
        offsets = torch.tensor([0, *cardinalities[:-1]], dtype=torch.int64).cumsum(0)
        self.register_buffer("offsets", offsets[: len(cardinalities)], persistent=False)
        width = num_numeric + embedding_dim * len(cardinalities)
        blocks = []
        for hidden in hidden_sizes:
            blocks.append(
                nn.Sequential(
                    nn.Linear(width, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Dropout(dropout)
                )
            )
            width = hidden
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(width, out_features)

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        embedded = self.embedding(categorical + self.offsets).flatten(1)
        return self.head(self.blocks(torch.cat([numeric, embedded], dim=1)))


def build_model(config: ModelConfig, encoder: TabularEncoder, out_features: int) -> TabularMLP:
    """The model for data encoded by `encoder`, predicting `out_features` values per row."""
    return TabularMLP(
        num_numeric=len(encoder.numeric),
        cardinalities=encoder.cardinalities,
        out_features=out_features,
        hidden_sizes=config.hidden_sizes,
        dropout=config.dropout,
        embedding_dim=config.embedding_dim,
    )
