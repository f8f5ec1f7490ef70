"""The chapters' kernels talk to the build over encrypted sockets (CurveZMQ), so no kernel warns.

The build runs each chapter in a Jupyter kernel. ipykernel 7 warns at every kernel start that a
kernel on plain TCP sends code and outputs unencrypted ("Kernel is running over TCP without
encryption"), about forty times a build. Its own remedy is keys that the kernel manager
provisions: ipykernel's kernelspec declares CurveZMQ support (``supported_encryption``), and
jupyter_client provisions the keys when its ``transport_encryption`` policy is "auto". This
extension makes that the default for every kernel the build starts, and the warning goes away
because its cause does. ``scripts/execute_notebooks.py`` calls :func:`encrypt` too. Leaves out
nbval's kernels (pytest captures what they print) and kernels whose kernelspec does not declare
CurveZMQ (they start unencrypted, as before, and warn).
"""

from __future__ import annotations

from typing import Any

from jupyter_client.manager import KernelManager


def encrypt() -> None:
    """Make every kernel this process starts from now on use CurveZMQ keys where it supports them."""
    KernelManager.transport_encryption.default_value = "auto"


def setup(app: Any) -> dict[str, Any]:
    encrypt()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
