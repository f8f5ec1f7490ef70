"""Speculative decoding, greedy: a cheap draft proposes tokens, the model checks them all in one pass.

A decode step of a large model is bound by reading its weights, and checking several tokens costs
about as much as producing one. So a small **draft** model proposes ``lookahead`` tokens, one after
another; the **target** model runs once over all of them, keeps the longest run that agrees with
its own greedy choices and adds its own next token. The text is exactly the target's greedy text;
only the number of target passes changes. :func:`speculative_greedy` does it by hand, without
caches (each pass runs the whole sequence: slow, but every step is visible), and counts what the
draft got right; :func:`acceptance_rate` turns the counts into the probability :math:`\\alpha` that
the target accepts a drafted token. Leviathan et al. (2023, "Fast inference from transformers via
speculative decoding") give what :math:`\\alpha` buys: :func:`expected_tokens_per_pass` and
:func:`expected_speedup`, with :math:`c` the cost of a draft step over a target step.

:func:`early_exit_draft` makes a draft that shares the model's tokenizer from the model itself: its
first layers, its final norm and its output layer (the draft of LayerSkip and other
"self-speculative" schemes, here without the training that makes early layers predict well).

Leaves out sampling (the rejection rule that keeps a sampled distribution exact), tree drafts and
the KV-cache bookkeeping of a real implementation (``transformers``' assisted generation has it).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from llmedu import checks


def early_exit_draft(model: torch.nn.Module, layers: int) -> torch.nn.Module:
    """A copy of a Llama-style ``model`` that keeps only its first ``layers`` decoder layers."""
    total = len(model.model.layers)
    if not 1 <= checks.positive_int("layers", layers) < total:
        raise ValueError(f"layers must be between 1 and {total - 1} (the model has {total}), got {layers}")
    draft = copy.deepcopy(model)
    draft.model.layers = draft.model.layers[:layers]
    draft.config.num_hidden_layers = layers
    if getattr(draft.config, "layer_types", None) is not None:
        draft.config.layer_types = draft.config.layer_types[:layers]
    return draft.eval()


@dataclass
class Drafted:
    """What :func:`speculative_greedy` produced and counted."""

    tokens: torch.Tensor  #: the new tokens (1-D)
    target_passes: int  #: forward passes of the target model
    draft_steps: int  #: forward passes of the draft model
    examined: int  #: drafted tokens the target looked at (up to and including the first it rejected)
    accepted: int  #: drafted tokens the target accepted


def _next_token(model: torch.nn.Module, ids: torch.Tensor) -> int:
    return int(model(input_ids=ids, use_cache=False).logits[0, -1].argmax())


def speculative_greedy(target: torch.nn.Module, draft: torch.nn.Module, ids: torch.Tensor, new_tokens: int,
                       lookahead: int = 4) -> Drafted:
    """Greedy decoding of ``new_tokens`` tokens after ``ids`` (one sequence, shape ``(1, n)``), speculatively.

    Each round the draft proposes up to ``lookahead`` tokens greedily; one target pass over the
    sequence and the proposals gives the target's greedy choice at every position; the proposals
    are kept up to the first disagreement, and the target's own token follows. The result is the
    target's greedy continuation, token for token.
    """
    checks.positive_int("new_tokens", new_tokens)
    checks.positive_int("lookahead", lookahead)
    if ids.dim() != 2 or ids.shape[0] != 1:
        raise ValueError(f"ids must be one sequence of shape (1, n), got {tuple(ids.shape)}")
    start = ids.shape[1]
    sequence = ids
    passes = steps = examined = accepted = 0
    with torch.inference_mode():
        while sequence.shape[1] - start < new_tokens:
            room = min(lookahead, new_tokens - (sequence.shape[1] - start) - 1)
            proposal = sequence
            for _ in range(room):
                proposal = torch.cat([proposal, torch.tensor([[_next_token(draft, proposal)]])], dim=1)
                steps += 1
            choices = target(input_ids=proposal, use_cache=False).logits[0, sequence.shape[1] - 1:].argmax(-1)
            passes += 1
            drafted = proposal[0, sequence.shape[1]:]
            agree = 0
            while agree < len(drafted) and int(drafted[agree]) == int(choices[agree]):
                agree += 1
            examined += min(agree + 1, len(drafted))
            accepted += agree
            kept = torch.cat([drafted[:agree], choices[agree:agree + 1]])
            sequence = torch.cat([sequence, kept.view(1, -1)], dim=1)
    return Drafted(sequence[0, start:start + new_tokens], passes, steps, examined, accepted)


def acceptance_rate(drafted: Drafted) -> float:
    """The probability that the target accepts a drafted token: accepted over examined.

    >>> acceptance_rate(Drafted(torch.zeros(5), target_passes=2, draft_steps=6, examined=4, accepted=3))
    0.75
    """
    if drafted.examined == 0:
        raise ValueError("no drafted token was examined (a lookahead of 0, or a single new token)")
    return drafted.accepted / drafted.examined


def expected_tokens_per_pass(alpha: float, lookahead: int) -> float:
    r"""Tokens one target pass yields, on average: :math:`(1 - \alpha^{\gamma+1}) / (1 - \alpha)` (Leviathan et al., eq. 1).

    >>> expected_tokens_per_pass(0.0, 4), expected_tokens_per_pass(1.0, 4), round(expected_tokens_per_pass(0.5, 4), 4)
    (1.0, 5.0, 1.9375)
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a probability between 0 and 1, got {alpha!r}")
    gamma = checks.positive_int("lookahead", lookahead)
    return float(gamma + 1) if alpha == 1 else (1 - alpha ** (gamma + 1)) / (1 - alpha)


def expected_speedup(alpha: float, lookahead: int, cost_ratio: float) -> float:
    r"""Speed-up over plain decoding: :math:`\frac{1 - \alpha^{\gamma+1}}{(1 - \alpha)(\gamma c + 1)}` (Leviathan et al., theorem 3.8).

    ``cost_ratio`` :math:`c` is the time of a draft step over that of a target step; a target pass
    over :math:`\gamma + 1` tokens is taken to cost one step (decoding is memory-bound).

    >>> round(expected_speedup(0.8, 4, 0.1), 3)
    2.401
    """
    c = checks.positive_number("cost_ratio", cost_ratio)
    return expected_tokens_per_pass(alpha, lookahead) / (checks.positive_int("lookahead", lookahead) * c + 1)
