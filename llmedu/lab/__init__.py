"""The lab kit every lab shares: data, tokenizer, models, training, measurement, the numerical path.

Needs torch and transformers (the arithmetic modules of :mod:`llmedu` do not). Modules:
:mod:`~llmedu.lab.data` (generated reviews and the fixed split), :mod:`~llmedu.lab.tokenizer`,
:mod:`~llmedu.lab.models`, :mod:`~llmedu.lab.train` (with the cache of trained models),
:mod:`~llmedu.lab.baselines`, :mod:`~llmedu.lab.measure`, :mod:`~llmedu.lab.runtime` (the numerical
path that gives the same numbers on every CPU), :mod:`~llmedu.lab.fingerprint` (a ten-second
check of that path) and :mod:`~llmedu.lab.native_timer` (timings taken off it); one
module per method: :mod:`~llmedu.lab.pruning`, :mod:`~llmedu.lab.quantization` and
:mod:`~llmedu.lab.distillation` (structural optimization needs none: it builds other shapes).
The decoder track: :mod:`~llmedu.lab.smollm2` (SmolLM2-135M from its PyPI package, cached),
:mod:`~llmedu.lab.language_model` (the scored text, perplexity, the KV cache as held, greedy
generation), :mod:`~llmedu.lab.low_bit` (weight-only quantization in groups, by hand and with
torchao), :mod:`~llmedu.lab.calibration` and :mod:`~llmedu.lab.gptq` (calibration data),
:mod:`~llmedu.lab.decoder_pruning` and :mod:`~llmedu.lab.decoder_structure` (pruning and cutting a
decoder), :mod:`~llmedu.lab.speculative`, and :mod:`~llmedu.lab.finetuning_memory` (a fine-tuning
step measured by :mod:`~llmedu.lab.memory_meter`).
"""
