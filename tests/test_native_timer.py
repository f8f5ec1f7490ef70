"""Timings off the numerical path (llmedu.lab.native_timer): a worker with the libraries' own choices."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from llmedu.lab import native_timer, runtime


def test_a_process_off_the_path_times_in_process() -> None:
    assert not runtime.is_set_up()
    times = native_timer.times("matmul_transposed", torch.ones(8, 4), torch.ones(3, 4), repeats=4, warmup=1)
    assert len(times) == 4 and all(t > 0 for t in times)
    with pytest.raises(ValueError, match="operation must be one of"):
        native_timer.times("backward", torch.ones(1))


def test_a_process_on_the_path_times_in_a_worker_off_it() -> None:
    code = textwrap.dedent("""
        from llmedu.lab import runtime, native_timer
        runtime.setup()
        import torch
        from transformers import BertConfig, BertForSequenceClassification
        model = BertForSequenceClassification(BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                                         intermediate_size=64, vocab_size=50)).eval()
        batch = {"input_ids": torch.ones(2, 5, dtype=torch.long), "attention_mask": torch.ones(2, 5, dtype=torch.long)}
        print(len(native_timer.times("forward", model, batch, repeats=3, warmup=1)))
        worker = native_timer._worker.process
        environ = open(f"/proc/{worker.pid}/environ", "rb").read().decode().split("\\0")
        print(sorted(k for k in runtime.PINNED_ENV if any(v.startswith(k + "=") for v in environ)))
        try:
            native_timer.times("forward", model, {"input_ids": torch.ones(2, 5)}, repeats=1)
        except RuntimeError as error:
            print(str(error).splitlines()[0])
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[:2] == ["3", "[]"], result.stdout  # three times, and none of the path's settings in the worker
    assert lines[2] == "the timing process could not time forward: KeyError: 'attention_mask'", lines[2]
