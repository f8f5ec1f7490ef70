"""Bytes per number format and the units in which sizes are shown.

Covers the storage size of one parameter in the formats the book uses (fp32, fp16, bf16,
int8, int4) and the two families of size units: decimal (MB = 10**6 bytes, GB = 10**9) and
binary (MiB = 2**20 bytes, GiB = 2**30). Every size the book prints names its unit
explicitly, because "494 MB" and "471 MiB" are the same number of bytes.

Leaves out: per-tensor overheads of real formats (quantization scales and zero points,
sparse indices, file headers); those belong to the chapters that measure them.
"""

from __future__ import annotations

from llmedu import checks

#: Bytes needed to store one number in each supported format.
DTYPE_BYTES: dict[str, float] = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1, "int4": 0.5}

MB = 10**6  #: one megabyte (decimal), in bytes
GB = 10**9  #: one gigabyte (decimal), in bytes
KiB = 2**10  #: one kibibyte (binary), in bytes
MiB = 2**20  #: one mebibyte (binary), in bytes
GiB = 2**30  #: one gibibyte (binary), in bytes


def bytes_per_param(dtype: str) -> float:
    """Bytes that one parameter takes in ``dtype``.

    int4 packs two numbers per byte, hence 0.5.

    >>> bytes_per_param("bf16")
    2
    >>> bytes_per_param("int4")
    0.5
    """
    return DTYPE_BYTES[checks.choice("dtype", dtype, DTYPE_BYTES)]


def to_mb(n_bytes: float) -> float:
    """Bytes to decimal megabytes, :math:`n / 10^6`.

    >>> to_mb(493_670_400)
    493.6704
    """
    return n_bytes / MB


def to_mib(n_bytes: float) -> float:
    """Bytes to binary mebibytes, :math:`n / 2^{20}`.

    >>> round(to_mib(493_670_400), 1)
    470.8
    """
    return n_bytes / MiB


def describe_size(n_bytes: float, decimals: int = 1) -> str:
    """A size in both unit families, e.g. ``'493.7 MB (470.8 MiB)'``.

    Sizes of a gigabyte or more are shown in GB and GiB; ``decimals`` digits after the point.

    >>> describe_size(493_670_400)
    '493.7 MB (470.8 MiB)'
    >>> describe_size(3 * 10**9)
    '3.0 GB (2.8 GiB)'
    >>> describe_size(1_725_000, decimals=3)
    '1.725 MB (1.645 MiB)'
    """
    d = checks.nonnegative_int("decimals", decimals)
    if n_bytes < 0:
        raise ValueError(f"n_bytes must be >= 0, got {n_bytes}")
    if n_bytes >= GB:
        return f"{n_bytes / GB:,.{d}f} GB ({n_bytes / GiB:,.{d}f} GiB)"
    return f"{n_bytes / MB:,.{d}f} MB ({n_bytes / MiB:,.{d}f} MiB)"
