"""llmedu: the arithmetic and the labs of the book "Smaller and faster language models".

The arithmetic modules (:mod:`~llmedu.units`, :mod:`~llmedu.params`, :mod:`~llmedu.memory`,
:mod:`~llmedu.scaling`) are pure Python and import neither torch nor transformers; the
command line (``python -m llmedu``) is :mod:`~llmedu.cli`.
"""

__version__ = "0.1.0"
