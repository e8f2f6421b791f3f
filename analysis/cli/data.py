"""``data``: list, validate, diff, accept and refresh the catalog's datasets; write the bibliography.

    python -m analysis data list
    python -m analysis data validate [NAME ...]
    python -m analysis data diff NAME|PATH [NAME|PATH ...]
    python -m analysis data accept NAME [NAME ...] | --all
    python -m analysis data refresh NAME [--accept] [--timeout SECONDS]
    python -m analysis data bib [--check]
"""

from __future__ import annotations

import sys

from . import EXIT_ERROR, EXIT_OK


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="list, validate, diff, accept and refresh datasets; write references.bib",
                       description="Work with the data catalog (data/datapackage.json) and its raw files.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    a = actions.add_parser("list", help="datasets with their rows, state and confidence")
    a.set_defaults(handler=run_list)

    a = actions.add_parser("validate", help="check checksums and schemas (exit 1 listing every failure)")
    a.add_argument("names", nargs="*", metavar="NAME", help="datasets to check (default: all)")
    a.set_defaults(handler=run_validate)

    a = actions.add_parser("diff", help="value diff of the working file against the last accepted version")
    a.add_argument("names", nargs="+", metavar="NAME|PATH", help="dataset name or its file (data/raw/<source-id>/<table>.csv)")
    a.set_defaults(handler=run_diff)

    a = actions.add_parser("accept", help="after review: show the diff, then re-record hash, bytes and accessed date")
    a.add_argument("names", nargs="*", metavar="NAME")
    a.add_argument("--all", action="store_true", help="accept every dataset whose file changed")
    a.set_defaults(handler=run_accept)

    a = actions.add_parser("refresh", help="download a dataset from its refresh.url, validate it and show the diff")
    a.add_argument("name", metavar="NAME")
    a.add_argument("--accept", action="store_true", help="install the download in data/raw/ and accept it")
    a.add_argument("--timeout", type=_seconds, default=30.0, help="download timeout in seconds (default 30)")
    a.set_defaults(handler=run_refresh)

    a = actions.add_parser("bib", help="write report/references.bib from the catalog's sources")
    a.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file is out of date")
    a.set_defaults(handler=run_bib)


def _seconds(text: str) -> float:
    """argparse type for --timeout: a positive number of seconds."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected a number of seconds between 0 and 3600, got {text!r}")
    return value


def _catalog():
    from ..catalog import Catalog

    return Catalog.load()


def run_list(args) -> int:
    from ..files import file_sha256
    from ..datadiff import read_table

    catalog = _catalog()
    rows = []
    from ..errors import DataIntegrityError

    for name, entry in catalog.resources.items():
        path = catalog.path(name)
        try:
            catalog.data_file(name)
            refused = False
        except DataIntegrityError:  # a symbolic link or an oversized file: never read (data validate says why)
            refused = True
        if refused:
            count, state = "?", "REFUSED"
        elif not path.is_file():
            count, state = "?", "MISSING"
        else:
            state = "ok" if f"sha256:{file_sha256(path)}" == entry["hash"] else "MODIFIED"
            try:
                count = str(len(read_table(path.read_bytes(), name)[1]))
            except Exception:  # noqa: BLE001 - an unreadable file is reported as such, not fatal for a listing
                count = "?"
        level = entry["confidence"].split(":", 1)[0].strip()
        rows.append((name, count, state, level, "yes" if entry.get("refresh") else ""))
    header = ("dataset", "rows", "state", "confidence", "refresh")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(v.ljust(w) if i == 0 or i > 1 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))).rstrip())
    modified = sum(r[2] != "ok" for r in rows)
    print(f"{len(rows)} datasets" + (f", {modified} not matching the catalog (python -m analysis data validate)" if modified else ""))
    return EXIT_OK


def run_validate(args) -> int:
    from ..catalog import remember_accepted
    from ..errors import ClaimcheckError

    catalog = _catalog()
    names = args.names or list(catalog.resources)
    for name in names:
        catalog.entry(name)  # unknown names are a usage error, reported before any check
    failures = []
    for name in names:
        problems = []
        try:
            sha = catalog.verify_checksum(name)
        except ClaimcheckError as exc:
            problems.append(str(exc))
            sha = None
        try:
            schema = catalog.schema_problems(name) if catalog.path(name).is_file() else []
        except ClaimcheckError as exc:  # a symbolic link or an oversized file, named once
            schema = []
            if str(exc) not in problems:
                problems.append(str(exc))
        if schema:
            problems.append(f"{catalog.layout.relative(catalog.path(name))} (dataset {name}) does not match its "
                            "schema:\n    " + "\n    ".join(schema))
        if problems:
            failures.append((name, problems))
            print(f"FAIL  {name}")
        else:
            remember_accepted(catalog.layout, catalog.path(name), sha)
            print(f"ok    {name}")
    if failures:
        print(f"\n{len(failures)} of {len(names)} datasets failed:", file=sys.stderr)
        for name, problems in failures:
            for problem in problems:
                print(f"- {name}: {problem}", file=sys.stderr)
        return EXIT_ERROR
    print(f"All {len(names)} datasets match their checksums and schemas.")
    return EXIT_OK


def dataset_name(catalog, name_or_path: str) -> str:
    """The dataset a command-line argument names: a dataset name, or the path of its data file
    (``data/raw/<source-id>/<table>.csv``, relative to the current folder or the project)."""
    from pathlib import Path

    from ..errors import CatalogError
    from ..names import did_you_mean

    if name_or_path in catalog.resources:
        return name_or_path
    if not (name_or_path.endswith(".csv") or "/" in name_or_path or "\\" in name_or_path):
        catalog.entry(name_or_path)  # not a dataset name: raises CatalogError with close matches
    layout = catalog.layout
    candidates = [Path(name_or_path).resolve(), (layout.root / name_or_path).resolve()]
    by_path = {catalog.path(n).resolve(): n for n in catalog.resources}
    for candidate in candidates:
        if candidate in by_path:
            return by_path[candidate]
    known = [layout.relative(p) for p in by_path]
    raise CatalogError(f"no dataset in {layout.relative(layout.datapackage)} has the file {name_or_path!r}"
                       f"{did_you_mean(name_or_path, known)}",
                       hint="give a dataset name or the path of its file under data/raw/ (python -m analysis data list)")


def run_diff(args) -> int:
    from ..datadiff import diff_dataset

    catalog = _catalog()
    names = [dataset_name(catalog, name) for name in args.names]
    for name in names:
        print(diff_dataset(catalog, name).render())
    return EXIT_OK


def run_accept(args) -> int:
    from ..files import file_sha256
    from ..datadiff import accept
    from ..catalog import Catalog
    from ..errors import CatalogError

    catalog = Catalog.load(accepting=True)  # a resource may lack the hash the accept records
    if args.all and args.names:
        raise CatalogError("give dataset names or --all, not both")
    if args.all:
        names = [n for n, e in catalog.resources.items()
                 if not catalog.path(n).is_file() or f"sha256:{file_sha256(catalog.path(n))}" != e.get("hash")]
        if not names:
            print("Nothing to accept: every file matches its accepted checksum.")
            return EXIT_OK
    elif not args.names:
        raise CatalogError("name the datasets to accept, or pass --all",
                           hint="python -m analysis data accept NAME [NAME ...] | --all")
    else:
        names = args.names
    results = accept(catalog, names)
    for r in results:
        print(r.diff.render())
        if r.changed:
            print(f"  accepted: hash sha256:{r.sha256}, {r.bytes} bytes, accessed "
                  f"{catalog.entry(r.name)['obtained']['accessed']}")
        else:
            print("  already accepted: nothing re-recorded")
    changed = sum(r.changed for r in results)
    print(f"Accepted {changed} of {len(results)} datasets in {catalog.layout.relative(catalog.layout.datapackage)}.")
    return EXIT_OK


def run_refresh(args) -> int:
    from ..refresh import refresh

    catalog = _catalog()
    result = refresh(catalog, args.name, install=args.accept, timeout=args.timeout)
    print(result.diff.render())
    if result.installed:
        entry = catalog.entry(args.name)
        print(f"Installed {catalog.layout.relative(catalog.path(args.name))} and accepted it: hash {entry['hash']}, "
              f"{entry['bytes']} bytes, accessed {entry['obtained']['accessed']}.")
    else:
        print(f"Nothing changed in data/. The download is staged at {catalog.layout.relative(result.staged)}; "
              f"to install and accept it: python -m analysis data refresh {args.name} --accept")
    return EXIT_OK


def run_bib(args) -> int:
    from ..catalog import bibtex, write_bibliography

    catalog = _catalog()
    path = catalog.layout.report_dir / "references.bib"
    rel = catalog.layout.relative(path)
    if args.check:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != bibtex(catalog):
            print(f"{rel} is out of date with data/datapackage.json; run: python -m analysis data bib", file=sys.stderr)
            return EXIT_ERROR
        print(f"{rel} is up to date.")
        return EXIT_OK
    _, changed = write_bibliography(catalog, path)
    print(f"{'Wrote' if changed else 'Unchanged:'} {rel} ({len(set(k for k in _keys(catalog)))} sources).")
    return EXIT_OK


def _keys(catalog):
    from ..catalog import bibliography_keys

    return bibliography_keys(catalog).values()
