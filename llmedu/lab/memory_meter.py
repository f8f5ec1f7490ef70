"""Bytes of live tensors, counted by torch itself: a meter that works on a CPU and in Colab.

``tracemalloc`` does not see torch's allocations and a process's RSS mixes in the allocator's
caching and everything else the process holds, so the labs count tensors instead:
:class:`LiveTensorMeter` is a ``TorchDispatchMode`` that sees every tensor an operation creates
while it is active, counts the bytes of its storage once (views share a storage) and uncounts
them when the storage is freed. It reports the current and the peak bytes, and a timeline of
labelled marks.

Counts only tensors created inside the ``with`` block (weights created before it are not
counted: add them yourself). Leaves out allocator overhead and fragmentation, which a real
device adds on top (``torch.cuda.max_memory_allocated`` on a GPU).
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class LiveTensorMeter(TorchDispatchMode):
    """Counts the bytes of tensors created inside ``with LiveTensorMeter() as meter:``.

    >>> with LiveTensorMeter() as meter:
    ...     a = torch.zeros(1000, 250)          # 1,000,000 bytes
    ...     b = a * 2                            # another 1,000,000
    ...     del b
    ...     c = a[:10]                           # a view: no new bytes
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
        for tensor in tree_flatten(out)[0]:
            if not isinstance(tensor, torch.Tensor) or tensor.device.type == "meta":
                continue
            storage = tensor.untyped_storage()
            key, size = storage.data_ptr(), storage.nbytes()
            if size == 0 or key in self._live:
                continue
            self._live[key] = size
            self.current += size
            self.peak = max(self.peak, self.current)
            weakref.finalize(storage, self._release, key)
        return out

    def mark(self, label: str) -> None:
        """Record the bytes live now under ``label`` (for a timeline of a training step)."""
        self.timeline.append((label, self.current))
