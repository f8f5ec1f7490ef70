"""Structured removal in a Llama-style decoder: whole FFN neurons, key/value groups and blocks.

:mod:`llmedu.lab.decoder_pruning` zeroes single weights and keeps every shape, so no dense product
gets faster. Here whole units go, and what is left is a smaller model of the same family: the
matrices are sliced, the config says the new sizes (one size for every block, as the config
allows), and fewer parameters are stored and multiplied for every token (the output head, as large
as the embedding table, is never cut). No fine-tuning after.

* **FFN neurons.** Neuron :math:`i` of a gated FFN is row :math:`i` of ``gate_proj`` and
  ``up_proj`` and column :math:`i` of ``down_proj``; the same share goes from every block. Scored
  by the weights alone (:func:`neuron_magnitude`: the product of the three vectors' norms) or by
  what the neuron adds to the block's output on calibration text (:func:`scores`' ``"neurons"``:
  :math:`\\lVert h_i \\rVert_2 \\lVert W^{down}_{:,i} \\rVert_2`, with :math:`h_i` the neuron's values over the
  tokens: the Frobenius norm of its share of ``down_proj``'s output, the L2 norm of Wanda's scores
  over the neuron's column).
* **Key/value groups.** Group :math:`g` is key/value head :math:`g` with the query heads that
  share it: their rows of ``q_proj``, ``k_proj`` and ``v_proj`` and their columns of ``o_proj``.
  Scored by the norm of the group's contribution to ``o_proj``'s output over the calibration
  tokens (:math:`\\sqrt{\\operatorname{tr}(W_g G_g W_g^\\top)}`, with :math:`G_g` its block of the Gram matrix of
  ``o_proj``'s inputs, from :func:`llmedu.lab.calibration.input_grams`).
* **Blocks.** Whole blocks leave the stack: the last ones before the final block (``"last"``), or
  those that change their input least, by the block influence of Men et al. (2024, ShortGPT):
  :math:`1 - \\cos(x_{in}, x_{out})`, averaged over the calibration tokens (``"influence"``). The
  first and the last block always stay (a rule of this module; ShortGPT ranks every block).

Every score comes from one pass of the unchanged model over the calibration text
(:func:`scores`), so each removal is one slice, not a search; :func:`cached_scores` keeps that
pass's scores in the labs' cache (Labs 11 and 14 score SmolLM2 on the same text). Leaves out fine-tuning after removal
(where most published structured methods recover their loss), uneven sizes per block, and
embedding-width pruning (Sheared LLaMA, Minitron).
"""

from __future__ import annotations

import copy
import hashlib
import json

import torch

from llmedu import checks
from llmedu.lab import calibration, smollm2, train

#: Bump when :func:`scores` computes something else, so that older cache entries are not read.
SCORES_FORMAT = 1

BLOCK_CRITERIA = ("last", "influence")


def _blocks(model: torch.nn.Module) -> torch.nn.ModuleList:
    return model.model.layers


def _group_columns(model: torch.nn.Module) -> tuple[int, int]:
    """(query heads per key/value group, columns of o_proj per group)."""
    config = model.config
    per_group = config.num_attention_heads // config.num_key_value_heads
    return per_group, per_group * _head_dim(config)


def _head_dim(config) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def scores(model: torch.nn.Module, ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """What each unit adds, on calibration tokens ``ids`` (rows, tokens), from one pass of ``model``.

    ``neurons`` (blocks, FFN width) and ``groups`` (blocks, key/value groups): the norms of
    :mod:`this module's <llmedu.lab.decoder_structure>` docstring; ``influence`` (blocks,): one minus the mean cosine
    of each block's output with its input.
    """
    blocks = _blocks(model)
    names = [f"model.layers.{i}.{part}" for i in range(len(blocks)) for part in ("mlp.down_proj", "self_attn.o_proj")]
    cosines: list[torch.Tensor] = [torch.zeros(()) for _ in blocks]

    def influence(index: int):
        def hook(module, args, kwargs, output):
            x_in = args[0] if args else kwargs["hidden_states"]
            x_out = output[0] if isinstance(output, tuple) else output
            cosines[index] = torch.nn.functional.cosine_similarity(x_in.float(), x_out.float(), dim=-1).mean()
        return hook

    handles = [block.register_forward_hook(influence(i), with_kwargs=True) for i, block in enumerate(blocks)]
    try:
        grams = calibration.input_grams(model, names, input_ids=ids)
    finally:
        for handle in handles:
            handle.remove()
    per_group, width = _group_columns(model)
    neurons, groups = [], []
    for i, block in enumerate(blocks):
        down = block.mlp.down_proj.weight.detach().double()
        neurons.append((grams[names[2 * i]].diagonal().clamp_min(0).sqrt() * down.norm(dim=0)).float())
        o_proj, g = block.self_attn.o_proj.weight.detach().double(), grams[names[2 * i + 1]]
        groups.append(torch.stack([((o_proj[:, c:c + width] @ g[c:c + width, c:c + width]) * o_proj[:, c:c + width]).sum()
                                   for c in range(0, o_proj.shape[1], width)]).clamp_min(0).sqrt().float())
    return {"neurons": torch.stack(neurons), "groups": torch.stack(groups),
            "influence": 1 - torch.stack(cosines).float()}


def cached_scores(model: torch.nn.Module, ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """:func:`scores`, from the labs' cache where the same weights were scored on the same tokens before.

    The entry's name hashes the weights (:func:`llmedu.lab.smollm2.weights_digest`), the tokens and
    :data:`SCORES_FORMAT`; it is written whole or not at all, and one that cannot be read is computed again.
    """
    key = json.dumps({"format": SCORES_FORMAT, "weights": smollm2.weights_digest(model),
                      "ids": hashlib.sha256(ids.contiguous().numpy().tobytes()).hexdigest(), "shape": list(ids.shape)})
    path = train.cache_dir() / f"structure-scores-{hashlib.sha256(key.encode()).hexdigest()[:20]}.pt"
    if path.is_file():
        try:
            return torch.load(path, weights_only=True)
        except Exception:  # a damaged entry: score again
            pass
    found = scores(model, ids)
    from llmedu.results import write_whole

    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, lambda file: torch.save(found, file))
    return found


def neuron_magnitude(model: torch.nn.Module) -> torch.Tensor:
    """(blocks, FFN width): each neuron's ``gate_proj`` row norm × ``up_proj`` row norm × ``down_proj`` column norm."""
    return torch.stack([b.mlp.gate_proj.weight.detach().norm(dim=1) * b.mlp.up_proj.weight.detach().norm(dim=1)
                        * b.mlp.down_proj.weight.detach().norm(dim=0) for b in _blocks(model)])


def _kept(score: torch.Tensor, keep: int) -> torch.Tensor:
    """The indices of the ``keep`` highest scores, in their original order (ties: the lower index stays)."""
    order = torch.argsort(-score, stable=True)[:keep]
    return order.sort().values


def _rebuilt(model: torch.nn.Module, changes: dict, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    config = copy.deepcopy(model.config)
    for key, value in changes.items():
        setattr(config, key, value)
    config.head_dim = _head_dim(model.config)  # stays, whatever the head count becomes
    smaller = type(model)(config).eval()
    smaller.load_state_dict(state, strict=True)
    return smaller


def remove_neurons(model: torch.nn.Module, share: float, score: torch.Tensor) -> torch.nn.Module:
    """A copy of ``model`` without the ``share`` of each block's FFN neurons of lowest ``score`` (blocks, width)."""
    checks.fraction("share", share)
    width = model.config.intermediate_size
    if tuple(score.shape) != (len(_blocks(model)), width):
        raise ValueError(f"score has shape {tuple(score.shape)}; expected (blocks, FFN width) = ({len(_blocks(model))}, {width})")
    keep = width - round(share * width)
    if keep < 1:
        raise ValueError(f"removing {share:.0%} of {width} neurons leaves none; allowed: a share below 1")
    state = {k: v.detach() for k, v in model.state_dict().items()}
    for i in range(len(_blocks(model))):
        kept, prefix = _kept(score[i], keep), f"model.layers.{i}.mlp."
        for name in ("gate_proj.weight", "gate_proj.bias", "up_proj.weight", "up_proj.bias"):
            if prefix + name in state:  # biases where the config has them (mlp_bias)
                state[prefix + name] = state[prefix + name][kept]
        state[prefix + "down_proj.weight"] = state[prefix + "down_proj.weight"][:, kept]
    return _rebuilt(model, {"intermediate_size": keep}, state)


def remove_groups(model: torch.nn.Module, count: int, score: torch.Tensor) -> torch.nn.Module:
    """A copy of ``model`` without the ``count`` key/value groups of lowest ``score`` (blocks, groups) in each block,
    each with the query heads that share it."""
    config = model.config
    groups = config.num_key_value_heads
    checks.positive_int("count", count)
    if count >= groups:
        raise ValueError(f"removing {count} of {groups} key/value groups leaves none; allowed: 1 to {groups - 1}")
    if tuple(score.shape) != (len(_blocks(model)), groups):
        raise ValueError(f"score has shape {tuple(score.shape)}; expected (blocks, groups) = ({len(_blocks(model))}, {groups})")
    per_group, width = _group_columns(model)
    head_dim = _head_dim(config)
    state = {k: v.detach() for k, v in model.state_dict().items()}
    for i in range(len(_blocks(model))):
        kept, prefix = _kept(score[i], groups - count), f"model.layers.{i}.self_attn."
        q_rows = torch.cat([torch.arange(g * width, (g + 1) * width) for g in kept.tolist()])
        kv_rows = torch.cat([torch.arange(g * head_dim, (g + 1) * head_dim) for g in kept.tolist()])
        for name, rows in (("q_proj", q_rows), ("k_proj", kv_rows), ("v_proj", kv_rows)):
            for kind in ("weight", "bias"):
                if prefix + f"{name}.{kind}" in state:
                    state[prefix + f"{name}.{kind}"] = state[prefix + f"{name}.{kind}"][rows]
        state[prefix + "o_proj.weight"] = state[prefix + "o_proj.weight"][:, q_rows]
    kept_groups = groups - count
    return _rebuilt(model, {"num_key_value_heads": kept_groups, "num_attention_heads": kept_groups * per_group}, state)


def blocks_to_drop(count: int, criterion: str = "influence", influence: torch.Tensor | None = None,
                   n_blocks: int | None = None) -> list[int]:
    """Which ``count`` blocks to drop: the last ones before the final block (``"last"``, needs ``n_blocks``), or
    those of lowest ``influence`` (the first and the last block always stay: they shape the input and the output).

    >>> blocks_to_drop(2, "last", n_blocks=10)
    [7, 8]
    >>> blocks_to_drop(2, influence=torch.tensor([0.9, 0.1, 0.3, 0.05, 0.2, 0.01]))
    [1, 3]
    """
    checks.choice("criterion", criterion, BLOCK_CRITERIA)
    if criterion == "influence":
        if influence is None:
            raise ValueError("criterion 'influence' needs the blocks' influence (scores(model, ids)['influence'])")
        n_blocks = len(influence)
    elif n_blocks is None:
        raise ValueError("criterion 'last' needs n_blocks, the number of blocks")
    checks.positive_int("count", count)
    if count > n_blocks - 2:
        raise ValueError(f"dropping {count} of {n_blocks} blocks leaves too few; allowed: 1 to {n_blocks - 2} "
                         "(the first and the last block stay)")
    if criterion == "last":
        return list(range(n_blocks - 1 - count, n_blocks - 1))
    middle = influence[1:-1]
    return sorted(int(i) + 1 for i in torch.argsort(middle, stable=True)[:count])


def drop_blocks(model: torch.nn.Module, dropped: list[int]) -> torch.nn.Module:
    """A copy of ``model`` without the blocks numbered in ``dropped``; the others keep their order."""
    n_blocks = len(_blocks(model))
    bad = [i for i in dropped if not 0 <= i < n_blocks]
    if bad or len(set(dropped)) != len(dropped) or len(dropped) >= n_blocks:
        raise ValueError(f"blocks to drop must be distinct numbers from 0 to {n_blocks - 1}, fewer than {n_blocks}; "
                         f"got {dropped}")
    kept = [i for i in range(n_blocks) if i not in set(dropped)]
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith("model.layers."):
            index, rest = key[len("model.layers."):].split(".", 1)
            if int(index) in dropped:
                continue
            key = f"model.layers.{kept.index(int(index))}.{rest}"
        state[key] = value.detach()
    changes = {"num_hidden_layers": len(kept)}
    if getattr(model.config, "layer_types", None):
        changes["layer_types"] = [model.config.layer_types[i] for i in kept]
    return _rebuilt(model, changes, state)
