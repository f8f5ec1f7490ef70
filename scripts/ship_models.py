"""Train the labs' student and teacher on the numerical path and ship them inside the package.

Usage: .venv/bin/python scripts/ship_models.py      (about three minutes on 2 cores)

Writes llmedu/lab/shipped/<entry>/ (weights and training history, the cache's layout) for
llmedu.lab.train.STUDENT and TEACHER and removes any other entry there, so that a lab opened in
a fresh runtime loads them instead of training them for minutes. Run it when the training, the
data or the numerical path changes (a test fails while the shipped entries are stale), then
re-execute the labs: Lab 1 trains both models anew and prints whether their bits are these.
"""

from __future__ import annotations

import shutil

from llmedu.lab import runtime

runtime.setup()

from llmedu.lab import train  # noqa: E402  (after the numerical path is in place)


def main() -> None:
    keep = set()
    for shape, config in (train.STUDENT, train.TEACHER):
        result = train.trained(shape, config, progress=True, use_cache=False, use_shipped=False)
        name = train.entry_name(shape, config)
        train.save(train.SHIPPED / name, result.model, result.history)
        keep.add(name)
        print(f"shipped {name}: validation accuracy {result.history[-1]['val_accuracy']:.3f}")
    for stale in train.SHIPPED.iterdir():
        if stale.name not in keep:
            shutil.rmtree(stale)
            print(f"removed {stale.name}")


if __name__ == "__main__":
    main()
