# Makes notebooks/conftest.py a module of its own name beside tests/conftest.py (pytest imports both).
