"""Bytes of live tensors, counted by torch itself: a meter that works on a CPU and in Colab.

``tracemalloc`` does not see torch's allocations and a process's RSS mixes in the allocator's
caching and everything else the process holds, so the labs count tensors instead:
:class:`LiveTensorMeter` is a ``TorchDispatchMode`` that sees every tensor an operation creates
while it is active, counts the bytes of its storage once (views share a storage) and uncounts
them when the storage is freed. It reports the current and the peak bytes, and a timeline of
labelled marks. :func:`saved_for_backward` counts what autograd keeps for the backward pass
(with ``torch.autograd.graph.saved_tensors_hooks``), and :func:`training_step_timeline` follows
the bytes of weights, activations, gradients and optimizer state through training steps.

Counts only tensors created inside the ``with`` block (weights created before it are not
counted: add them yourself). Leaves out allocator overhead and fragmentation, which a real
device adds on top (``torch.cuda.max_memory_allocated`` on a GPU).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class LiveTensorMeter(TorchDispatchMode):
    """Counts the bytes of tensors created inside ``with LiveTensorMeter() as meter:``.

    >>> weight = torch.ones(500, 500)                # made before: not counted
    >>> with LiveTensorMeter() as meter:
    ...     a = torch.zeros(1000, 250)          # 1,000,000 bytes
    ...     b = a * 2                            # another 1,000,000
    ...     del b
    ...     c = a[:10]                           # a view: no new bytes
    ...     w = weight.t()                       # a view of a tensor made before: none either
    >>> meter.peak, meter.current
    (2000000, 1000000)
    """

    def __init__(self) -> None:
        super().__init__()
        self.current = 0
        self.peak = 0
        self.timeline: list[tuple[str, int]] = []
        self._live: dict[int, int] = {}

    def _release(self, key: int) -> None:
        self.current -= self._live.pop(key, 0)

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        out = func(*args, **(kwargs or {}))
        # Views and in-place results share an input's storage: nothing new was allocated.
        inputs = {t.untyped_storage().data_ptr() for t in tree_flatten((args, kwargs))[0]
                  if isinstance(t, torch.Tensor) and t.device.type != "meta"}
        for tensor in tree_flatten(out)[0]:
            if not isinstance(tensor, torch.Tensor) or tensor.device.type == "meta":
                continue
            storage = tensor.untyped_storage()
            key, size = storage.data_ptr(), storage.nbytes()
            if size == 0 or key in self._live or key in inputs:
                continue
            self._live[key] = size
            self.current += size
            self.peak = max(self.peak, self.current)
            weakref.finalize(storage, self._release, key)
        return out

    def mark(self, label: str) -> None:
        """Record the bytes live now under ``label`` (for a timeline of a training step)."""
        self.timeline.append((label, self.current))


def _storage_key(tensor: torch.Tensor) -> tuple[int, int]:
    storage = tensor.untyped_storage()
    return storage.data_ptr(), storage.nbytes()


def saved_for_backward(forward: Callable[[], Any], exclude: torch.nn.Module | None = None) -> tuple[int, Any]:
    """Bytes of the tensors autograd saves while ``forward()`` runs, and its result.

    Each storage counts once (views share it); the parameters of ``exclude`` (the model's own
    weights, which autograd also holds on to) are left out, so what remains is activations.

    >>> x = torch.ones(1000, 250, requires_grad=True)
    >>> saved, _ = saved_for_backward(lambda: (x * 2).sin())   # sin saves its input
    >>> saved
    1000000
    """
    skip = {_storage_key(p)[0] for p in exclude.parameters()} if exclude is not None else set()
    saved: dict[int, int] = {}
    keep: list[torch.Tensor] = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        key, size = _storage_key(tensor)
        if key not in skip:
            saved.setdefault(key, size)
            keep.append(tensor)
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        result = forward()
    return sum(saved.values()), result


def saved_tensor_inventory(output: torch.Tensor, exclude: torch.nn.Module | None = None) -> list[dict[str, Any]]:
    """What the autograd graph behind ``output`` keeps for backward, one row per new storage.

    Walks the graph from ``output.grad_fn`` and lists each saved tensor (``_saved_*``
    attributes of the graph's nodes) whose storage has not been listed yet and is not a
    parameter of ``exclude``: the operation, the name of the saved input, shape, dtype, bytes.

    >>> x = torch.ones(10, 10, requires_grad=True)
    >>> [(r["op"], r["shape"], r["bytes"]) for r in saved_tensor_inventory((x * 2).sin())]
    [('SinBackward0', (10, 10), 400), ('MulBackward0', (), 8)]
    """
    seen = {_storage_key(p)[0] for p in exclude.parameters()} if exclude is not None else set()
    rows, stack, visited = [], [output.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in visited:
            continue
        visited.add(node)
        for name in sorted(n for n in dir(node) if n.startswith("_saved_")):
            value = getattr(node, name)
            if isinstance(value, torch.Tensor):
                key, size = _storage_key(value)
                if key not in seen:
                    seen.add(key)
                    rows.append({"op": type(node).__name__, "saved": name.removeprefix("_saved_"),
                                 "shape": tuple(value.shape), "dtype": str(value.dtype).removeprefix("torch."),
                                 "bytes": size})
        stack.extend(next_node for next_node, _ in reversed(node.next_functions))
    return rows


def tensor_bytes(tensors: Any) -> int:
    """Bytes of the storages behind ``tensors`` (any nesting of lists, dicts and tuples), each once."""
    return sum(dict(_storage_key(t) for t in tree_flatten(tensors)[0] if isinstance(t, torch.Tensor)).values())


def training_step_timeline(model: torch.nn.Module, loss_of: Callable[[torch.nn.Module], torch.Tensor],
                           optimizer: torch.optim.Optimizer, steps: int = 2,
                           weights: int | None = None) -> list[dict[str, int]]:
    """Live bytes at each stage of ``steps`` training steps, and each step's peak.

    One record per step: ``weights`` (before the step), the live tensors created by the step
    ``after_forward`` (activations and the loss), ``after_backward`` (gradients; activations
    freed), ``after_step`` (the optimizer's state, created at its first step) and
    ``after_zero_grad`` (gradients freed), each counted on top of the weights and of the state
    the optimizer held before the step; ``peak`` is the highest total reached during the step.
    Gradients are set to ``None`` by ``zero_grad``, as PyTorch does by default. ``weights``
    replaces the bytes of the parameters and buffers, for weights that hold more tensors than
    those (a quantized model's constants).
    """
    records = []
    if weights is None:
        weights = tensor_bytes(list(model.parameters()) + list(model.buffers()))
    for _ in range(steps):
        state_before = tensor_bytes(optimizer.state_dict()["state"])
        base = weights + state_before
        with LiveTensorMeter() as meter:
            loss = loss_of(model)
            meter.mark("after_forward")
            loss.backward()
            del loss
            meter.mark("after_backward")
            optimizer.step()
            meter.mark("after_step")
            optimizer.zero_grad(set_to_none=True)
            meter.mark("after_zero_grad")
        record = {"weights": weights, "optimizer_state_before": state_before, "peak": base + meter.peak}
        record.update({label: base + current for label, current in meter.timeline})
        records.append(record)
    return records
