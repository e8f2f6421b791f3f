"""``release``: record the current build as release v<version> under releases/ (ledger, manifest, figures)."""

from __future__ import annotations


def add_parser(sub) -> None:
    from . import command

    p = command(sub, "release", "Record the current build as releases/v<version>/ (refuses a stale build, a released "
                "version and uncommitted changes).", ["release", "release --list"])
    p.add_argument("--list", action="store_true", help="list the recorded releases instead")
    p.add_argument("--allow-dirty", action="store_true",
                   help="record a build of a tree with uncommitted changes anyway (the release says so)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from .. import __version__
    from ..paths import Layout
    from ..release import record_release, release_dir, released_versions

    layout = Layout.find()
    if args.list:
        versions = released_versions(layout)
        for v in versions:
            print(f"v{v}  {layout.relative(release_dir(layout, v))}/")
        print(f"{len(versions)} release(s); current version {__version__}")
        return 0
    folder = record_release(layout, allow_dirty=args.allow_dirty)
    rel = layout.relative(folder)
    print(f"Recorded release v{__version__} in {rel}/ (ledger.json, manifest.json, figures.json, summary.md, release.json).")
    print(f"Commit it (git add {rel} && git commit -m 'release v{__version__}'), then bump __version__ in "
          "analysis/__init__.py before further changes.")
    return 0
