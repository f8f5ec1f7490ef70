"""How the test command shares its work between two processes (pytest-xdist, ``-n 2 --dist loadgroup``).

A file's tests stay together, in order, in one process: a lab's cells share one kernel, and a
module's fixtures are set up once. The files that check the built book share one process, so that
the book is built once. Without pytest-xdist (or without ``-n``), nothing changes.
"""

from __future__ import annotations

import pytest

#: The test files that check the built site (the session's ``site`` fixture builds it).
SITE_FILES = ("tests/test_book.py", "tests/test_browser.py", "tests/test_licence.py")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        file = item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group("built-site" if file in SITE_FILES else file))
