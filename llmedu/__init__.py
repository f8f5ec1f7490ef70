"""llmedu: the arithmetic and the labs of the book "Smaller and faster language models".

The arithmetic modules (:mod:`~llmedu.units`, :mod:`~llmedu.params`, :mod:`~llmedu.decoders`,
:mod:`~llmedu.memory`, :mod:`~llmedu.weight_formats`, :mod:`~llmedu.scaling`, :mod:`~llmedu.compression`,
:mod:`~llmedu.tradeoffs`) are pure Python and import neither torch nor transformers; the command
line (``python -m llmedu``) is :mod:`~llmedu.cli`, which reads presets and ``config.json`` files
through :mod:`~llmedu.model_config`. The book's four
languages share :mod:`~llmedu.fmt` (numbers in each language), :mod:`~llmedu.i18n` (the labels
that code draws) and :mod:`~llmedu.plotting` (fonts for Devanagari and Bengali).

Importing the package raises the level of two loggers to ERROR, and nothing else: where torchao
is installed (as in the book's environment), transformers imports it when a model is built, and
it logs warnings about its CUDA libraries and its pytree registrations that say nothing about
the reader's code (and would differ from machine to machine in a lab's output).
"""

import logging

for _noisy in ("torchao", "torch.utils._pytree"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)

__version__ = "0.1.0"
