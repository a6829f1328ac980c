"""The shared architecture: a MiniLM encoder, mean pooling and one linear head per task (training-side)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

# Re-exported: training code imports the base encoder's name and path from here.
from lepton_stream.models.base import BASE_MODEL, base_model_path  # noqa: F401

# Workers log JSON; transformers' progress bars and notices would interleave with it.
hf_logging.disable_progress_bar()
hf_logging.set_verbosity_error()

def load_tokenizer(path: Path) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


def load_encoder(path: Path) -> nn.Module:
    # Eager attention exports cleanly to ONNX and is as fast as SDPA at these sequence lengths.
    return AutoModel.from_pretrained(str(path), local_files_only=True, attn_implementation="eager")


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


class EncoderWithHeads(nn.Module):
    """One encoder pass feeds every task head, so a chat message costs one forward pass for all tasks."""

    def __init__(self, encoder: nn.Module, heads: dict[str, nn.Linear]):
        super().__init__()
        self.encoder = encoder
        self.task_names = list(heads)
        self.heads = nn.ModuleList(heads[t] for t in self.task_names)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        return mean_pool(out.last_hidden_state, attention_mask)

    def embed_layers(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     layers: list[int]) -> list[torch.Tensor]:
        """Mean-pooled outputs of the given layers (0 = the embeddings, -1 = the last layer, what the heads
        read), from one pass: distillation's intermediate targets."""
        if all(j == -1 for j in layers):  # the last layer only: no need to keep the others
            return [self.embed(input_ids, attention_mask)] * len(layers)
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return [mean_pool(out.hidden_states[j], attention_mask) for j in layers]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        pooled = self.embed(input_ids, attention_mask)
        return tuple(head(pooled) for head in self.heads)
