"""``clean``: remove build outputs (everything under _build/ and the rendered site)."""

from __future__ import annotations

import shutil


def add_parser(sub) -> None:
    from . import command

    p = command(sub, "clean", "Remove the build outputs (_build/ and _site/); sources, data and releases are kept.", ["clean"])
    p.set_defaults(handler=run)


def run(args) -> int:
    from ..build import build_lock
    from ..paths import Layout

    layout = Layout.find()
    with build_lock(layout):
        for folder in (layout.root / "_site",):
            shutil.rmtree(folder, ignore_errors=True)
        for child in layout.build_dir.iterdir():
            if child != layout.build_lock:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    print(f"Removed build outputs in {layout.relative(layout.build_dir)}/ and _site/")
    return 0
