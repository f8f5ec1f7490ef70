"""The tiny-BERT lab that every method lab shares: data, tokenizer, models, training, measurement.

Needs torch and transformers (the arithmetic modules of :mod:`llmedu` do not). Modules:
:mod:`~llmedu.lab.data` (generated reviews and the fixed split), :mod:`~llmedu.lab.tokenizer`,
:mod:`~llmedu.lab.models`, :mod:`~llmedu.lab.train` (with the cache of trained models),
:mod:`~llmedu.lab.baselines`, :mod:`~llmedu.lab.measure`, :mod:`~llmedu.lab.runtime` (the numerical
path that gives the same numbers on every CPU), :mod:`~llmedu.lab.fingerprint` (a ten-second
check of that path) and :mod:`~llmedu.lab.native_timer` (timings taken off it); one
module per method: :mod:`~llmedu.lab.pruning`, :mod:`~llmedu.lab.quantization` and
:mod:`~llmedu.lab.distillation` (structural optimization needs none: it builds other shapes).
"""
