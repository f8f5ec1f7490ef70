"""The tiny-BERT lab that every method lab shares: data, tokenizer, models, training, measurement.

Needs torch and transformers (the arithmetic modules of :mod:`llmedu` do not). Modules:
:mod:`~llmedu.lab.data` (generated reviews and the fixed split), :mod:`~llmedu.lab.tokenizer`,
:mod:`~llmedu.lab.models`, :mod:`~llmedu.lab.train` (with the cache of trained models),
:mod:`~llmedu.lab.baselines`, :mod:`~llmedu.lab.measure` and :mod:`~llmedu.lab.runtime`; one
module per method: :mod:`~llmedu.lab.pruning`, :mod:`~llmedu.lab.quantization` and
:mod:`~llmedu.lab.distillation` (structural optimization needs none: it builds other shapes).
"""
