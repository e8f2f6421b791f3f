"""``data``: list, validate, diff, accept, add, revert and refresh the catalog's datasets; write the bibliography.

    python -m analysis data list
    python -m analysis data validate [NAME ...]
    python -m analysis data diff NAME|PATH [NAME|PATH ...]
    python -m analysis data accept NAME [NAME ...] | --all
    python -m analysis data add PATH --title T --source S --publisher P --locator L --confidence C [...]
    python -m analysis data revert NAME|PATH [--accepted]
    python -m analysis data refresh NAME | --all [--accept] [--timeout SECONDS] [--base-url URL]
    python -m analysis data bib [--check]
"""

from __future__ import annotations

import sys

from . import EXIT_ERROR, EXIT_OK, command

DATASET = "crs-r44283-2017.us_share"  # a dataset of this project, for the examples
FILE = "data/raw/crs-r44283-2017/us_share.csv"


def add_parser(sub) -> None:
    p = command(sub, "data", "Work with the data catalog (data/datapackage.json) and its raw files under data/raw/.",
                ["data list", f"data diff {DATASET}"])
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    a = command(actions, "list", "List the datasets with their rows, state and confidence.", ["data list"])
    a.set_defaults(handler=run_list)

    a = command(actions, "validate", "Check checksums and schemas, and that every file under data/raw/ is catalogued "
                "(exit 1 listing every failure).", ["data validate", f"data validate {DATASET}"])
    a.add_argument("names", nargs="*", metavar="NAME", help="datasets to check (default: all, and every file under data/raw/)")
    a.set_defaults(handler=run_validate)

    a = command(actions, "diff", "Show the rows added, removed and changed in a data file since it was last accepted.",
                [f"data diff {DATASET}", f"data diff {FILE}"])
    a.add_argument("names", nargs="+", metavar="NAME|PATH", help="dataset name or its file (data/raw/<source-id>/<table>.csv)")
    a.set_defaults(handler=run_diff)

    a = command(actions, "accept", "After review: show the diff, then re-record the file's hash, bytes and accessed date.",
                [f"data accept {DATASET}", "data accept --all"])
    a.add_argument("names", nargs="*", metavar="NAME")
    a.add_argument("--all", action="store_true", help="accept every dataset whose file changed")
    a.set_defaults(handler=run_accept)

    a = command(actions, "add", "Catalog a new file data/raw/<source-id>/<table>.csv: its name, a schema inferred from "
                "the file, its citation, today's date and its checksum (printed for review).",
                ["data add data/raw/nsf-nsb-2024-6/srd1_gerd_more_economies.csv --title 'GERD of further economies, "
                 "1990/2000/2010/2021, current PPP dollars (SEI 2024 Table SRD-1)' --source 'Research and Development: "
                 "U.S. Trends and International Comparisons (Science & Engineering Indicators 2024, NSB-2024-6)' "
                 "--publisher 'National Science Board; National Center for Science and Engineering Statistics (NCSES), NSF' "
                 "--year 2024 --url https://ncses.nsf.gov/pubs/nsb20246 --locator 'Supplementary Table SRD-1' "
                 "--confidence \"high: the publisher's own table\""])
    a.add_argument("path", metavar="PATH", help="the new file, data/raw/<source-id>/<table>.csv")
    a.add_argument("--title", required=True, help="what the table holds, e.g. 'U.S. share of world R&D, 1960 and 2015 (CRS R44283)'")
    a.add_argument("--source", required=True, metavar="TITLE", help="title of the original publication")
    a.add_argument("--publisher", required=True, help="its publisher (the original one, not a copy)")
    a.add_argument("--locator", required=True, help="table, figure, page or paragraph where the numbers are printed")
    a.add_argument("--confidence", required=True,
                   help="'high|medium|low: reason', e.g. 'medium: seen only in a secondary copy'")
    a.add_argument("--year", type=_year, default=None, help="the publication's year")
    a.add_argument("--url", default=None, help="the publication's address")
    a.add_argument("--author", default=None, help="its authors, separated by ';'")
    a.add_argument("--description", default=None, help="what the table holds and any caveat, in a sentence or two")
    a.add_argument("--license", default="other-at", help="its terms: other-at (the default: copyright of the publisher, "
                   "figures quoted for fact-checking), public-domain-us-gov, CC-BY-4.0 or CC0-1.0")
    a.add_argument("--method", default="transcribed", choices=["transcribed", "downloaded"],
                   help="typed from the publication (default) or a file fetched as is")
    a.add_argument("--detail", default=None, help="how it was obtained (default: from --method, --source and --locator)")
    a.set_defaults(handler=run_add)

    a = command(actions, "revert", "Undo a change to a dataset: restore its file and its catalog entry together to the last "
                "committed version (or, with --accepted, the file to the version the catalog accepts).",
                [f"data revert {DATASET}", f"data revert {FILE} --accepted"])
    a.add_argument("name", metavar="NAME|PATH", help="dataset name or its file")
    a.add_argument("--accepted", action="store_true",
                   help="restore only the file, to the version whose checksum the catalog records")
    a.set_defaults(handler=run_revert)

    a = command(actions, "refresh", "Fetch a table from its publisher's interface (SDMX, World Bank API, a file at a "
                "stable URL; docs/refresh.md), validate it and diff it against the newest snapshot; with --accept and "
                "something new, add a dated snapshot <series>-<YYYY-MM>.<table> beside the earlier ones.",
                ["data refresh --all", "data refresh nsf-nsb-2024-6.srd1_gerd_current"])
    a.add_argument("name", metavar="NAME", nargs="?",
                   help="a refreshable dataset, or its series <series>.<table> (data list marks them)")
    a.add_argument("--all", action="store_true", help="every refreshable series: say which have something new")
    a.add_argument("--accept", action="store_true", help="add the new data as a dated snapshot (never edits a file in place)")
    a.add_argument("--timeout", type=_seconds, default=30.0, help="seconds to wait for each answer (default 30)")
    a.add_argument("--base-url", metavar="URL", default=None,
                   help="send every publisher request to this scheme://host instead (a mirror or a replay server; "
                        "default: the publisher's own, or $CLAIMCHECK_PUBLISHER_URL)")
    a.set_defaults(handler=run_refresh)

    a = command(actions, "bib", "Write report/references.bib from the catalog's sources (after `data add` or a "
                "changed citation).", ["data bib", "data bib --check"])
    a.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file is out of date")
    a.set_defaults(handler=run_bib)


def _year(text: str) -> int:
    """argparse type for --year: a four-digit year."""
    import argparse

    if not (text.isdigit() and len(text) == 4):
        raise argparse.ArgumentTypeError(f"expected a four-digit year, got {text!r}")
    return int(text)


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
        rows.append((name, count, state, level, _series(name, entry)))
    header = ("dataset", "rows", "state", "confidence", "refresh")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(v.ljust(w) if i == 0 or i > 1 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))).rstrip())
    modified = sum(r[2] != "ok" for r in rows)
    print(f"{len(rows)} datasets" + (f", {modified} not matching the catalog (python -m analysis data validate)" if modified else ""))
    return EXIT_OK


def _series(name: str, entry: dict) -> str:
    """The refreshable series a dataset belongs to (``<series>.<table>``), or '' (data list)."""
    from ..catalog import series_key

    key = series_key(name, entry)
    return f"{key[0]}.{key[1]}" if key else ""


def run_validate(args) -> int:
    from ..catalog import remember_accepted
    from ..errors import ClaimcheckError
    from ..preflight import IGNORE_FILE, uncatalogued_files

    catalog = _catalog()
    names = args.names or list(catalog.resources)
    for name in names:
        catalog.entry(name)  # unknown names are a usage error, reported before any check
    failures = []
    stray = [] if args.names else uncatalogued_files(catalog)
    for path in stray:
        rel = catalog.layout.relative(path)
        print(f"FAIL  {rel}")
        failures.append((rel, [f"in no catalog entry: catalog it with `python -m analysis data add {rel} ...`, "
                               f"or list it in {IGNORE_FILE} if it is not data"]))
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
        failed = len(failures) - len(stray)
        parts = ([f"{failed} of {len(names)} datasets failed"] if failed else []) + \
            ([f"{len(stray)} file(s) under data/raw/ are not catalogued"] if stray else [])
        print(f"\n{' and '.join(parts)}:", file=sys.stderr)
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
        for name in names:
            not_yet_added(catalog, name)
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


def run_add(args) -> int:
    import json

    from ..catalog import Catalog
    from ..datasets import add_dataset

    catalog = Catalog.load()
    added = add_dataset(catalog, args.path, title=args.title, source=args.source, publisher=args.publisher,
                        locator=args.locator, confidence=args.confidence, year=args.year, url=args.url,
                        author=args.author, description=args.description, license=args.license, method=args.method,
                        detail=args.detail)
    layout = catalog.layout
    print(f"Added dataset {added.name} to {layout.relative(layout.datapackage)}:")
    print(json.dumps(added.entry, indent=2, ensure_ascii=False))
    for note in added.notes:
        print(f"note: {note}")
    print("Next:\n"
          "  - review the entry above: the schema was inferred from the file (enums, ranges, primary key); edit it in "
          f"{layout.relative(layout.datapackage)} if the data's meaning needs more, then `python -m analysis data validate {added.name}`\n"
          f"  - declare it for the notebook that reads it: notebooks.<notebook>.datasets in project.yml\n"
          "  - regenerate the bibliography: python -m analysis data bib")
    return EXIT_OK


def run_revert(args) -> int:
    from ..catalog import Catalog
    from ..datasets import revert_dataset

    catalog = Catalog.load(accepting=True)
    name = dataset_name(catalog, args.name)
    result = revert_dataset(catalog, name, accepted=args.accepted)
    layout = catalog.layout
    rel = layout.relative(catalog.path(name))
    if not result.changed:
        print(f"Nothing to revert: {rel} and its catalog entry are already those of {result.origin}.")
    else:
        if result.diff is not None:
            print(result.diff.render())
        done = [f"{rel}" if result.file_restored else None,
                f"its entry in {layout.relative(layout.datapackage)} ({', '.join(result.entry_fields)})"
                if result.entry_fields else None]
        print(f"Reverted dataset {name} to {result.origin}: restored {' and '.join(d for d in done if d)}.")
    for note in result.notes:
        print(f"note: {note}")
    if result.changed:
        print("The next build restores the runs that read it from _build/store when their earlier results match "
              "(nothing executes for them).")
    return EXIT_OK


def not_yet_added(catalog, name: str) -> None:
    """CatalogError saying how to add a dataset whose file is in place but which has no catalog entry yet."""
    from ..catalog import NAME_PATTERN
    from ..errors import CatalogError

    if name in catalog.resources or not NAME_PATTERN.match(name):
        return
    path = catalog.layout.dataset_file(name)
    if path.is_file():
        rel = catalog.layout.relative(path)
        raise CatalogError(f"dataset {name} is not in {catalog.layout.relative(catalog.layout.datapackage)} yet: its file "
                           f"{rel} exists but has no entry to accept (accept records a change to a catalogued file)",
                           hint=f"add it with `python -m analysis data add {rel} --title ... --source ... --publisher ... "
                                "--locator ... --confidence ...` (docs/adding-a-claim.md); it writes the entry, checksum included")


def run_refresh(args) -> int:
    from ..errors import CatalogError
    from ..refresh import refresh, refresh_all, stderr_echo

    catalog = _catalog()
    if args.all == bool(args.name):
        raise CatalogError("name one refreshable dataset, or pass --all",
                           hint="python -m analysis data refresh NAME | --all [--accept]")
    if args.name:
        result = refresh(catalog, args.name, accept=args.accept, timeout=args.timeout, base_url=args.base_url,
                         echo=stderr_echo)
        _report_refresh(catalog, result, accept=args.accept)
        return EXIT_OK
    outcomes = refresh_all(catalog, accept=args.accept, timeout=args.timeout, base_url=args.base_url, echo=stderr_echo)
    failed = 0
    print(f"{len(outcomes)} refreshable series:")
    for address, outcome in outcomes:
        if isinstance(outcome, Exception):
            failed += 1
            print(f"  FAILED     {address}: {outcome.message}")
        elif outcome.installed:
            print(f"  ADDED      {address}: {outcome.snapshot} ({outcome.diff.summary()} against {outcome.latest})")
        elif outcome.has_news:
            print(f"  NEW DATA   {address}: {outcome.diff.summary()} against {outcome.latest}; "
                  f"review with `python -m analysis data refresh {address}`")
        else:
            print(f"  unchanged  {address}: the publisher's table equals {outcome.latest}")
    if failed:
        print(f"{failed} of {len(outcomes)} series could not be refreshed (nothing under data/ changed for them).",
              file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _report_refresh(catalog, result, *, accept: bool) -> None:
    """What one refresh found and did."""
    print(result.diff.render())
    if result.release:
        print(f"  publisher's release: {result.release}")
    if result.installed:
        entry = catalog.entry(result.snapshot)
        print(f"Added {result.snapshot} ({catalog.layout.relative(catalog.path(result.snapshot))}): hash {entry['hash']}, "
              f"{entry['bytes']} bytes, accessed {entry['obtained']['accessed']}; {result.latest} is unchanged. "
              "Rebuild to see which claims move: python -m analysis build")
    elif not result.has_news:
        print(f"Nothing new: the publisher's table equals {result.latest}; nothing changed in data/.")
    else:
        print(f"Nothing changed in data/. The table is staged at {catalog.layout.relative(result.staged)}; to add it as "
              f"{result.snapshot}: python -m analysis data refresh {result.address} --accept")


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
