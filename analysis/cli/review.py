"""``review``: record a peer review of a figure (``review add``), list review status (``review list``),
or review in the browser (``review serve``)."""

from __future__ import annotations


FIGURE = "us_share_global_research/default#fig-us-share-over-time"  # a figure of this project, for the examples


def add_parser(sub) -> None:
    from . import command

    p = command(sub, "review", "Peer-review the figures and tables of the last build: record, list or review in the browser.",
                ["review list", "review serve --port 8765"])
    actions = p.add_subparsers(dest="review_action", metavar="ACTION", required=True)
    add = command(actions, "add", "Record a review of one figure of the last build (written under reviews/).",
                  [f"review add '{FIGURE}' --reviewer 'A. Reviewer' --decision approved --comment 'rows match Table 1'"])
    add.add_argument("figure", metavar="FIGURE_ID", help=f"<notebook>/<parameter-set>#<label>, e.g. {FIGURE}")
    add.add_argument("--reviewer", required=True, help="the reviewer's name")
    add.add_argument("--decision", required=True, choices=["approved", "changes-requested"])
    add.add_argument("--comment", default="", help="what was checked, or what to change (required for changes-requested)")
    add.set_defaults(handler=run_add)
    ls = command(actions, "list", "Show the review status of every figure of the last build (or of the figures named).",
                 ["review list", f"review list '{FIGURE}' --history"])
    ls.add_argument("figures", nargs="*", metavar="FIGURE_ID", help="only these figures")
    ls.add_argument("--history", action="store_true", help="show every record, not only the latest")
    ls.set_defaults(handler=run_list)
    serve = command(actions, "serve", "Review the figures in the browser: a local web app on 127.0.0.1.",
                    ["review serve", "review serve --port 8800"])
    serve.add_argument("--port", type=int, default=None, help="port to listen on (default 8765)")
    serve.set_defaults(handler=run_serve)


def run_add(args) -> int:
    from ..errors import ClaimcheckError
    from ..paths import Layout
    from ..report import regenerate
    from ..review.records import add_review

    layout = Layout.find()
    recorded = add_review(layout, args.figure, reviewer=args.reviewer, decision=args.decision, comment=args.comment)
    where = layout.relative(recorded.path)
    if not recorded.new:
        print(f"Already recorded: the latest review of {args.figure.strip()} is this same review, in {where}; "
              "nothing new was written.")
        return 0
    print(f"Recorded {args.decision} review of {args.figure.strip()} by {args.reviewer.strip()} in {where} "
          f"(the plotted rows it saw are kept under {layout.relative(layout.reviews_dir)}/_data/); commit both with the code.")
    try:
        updated = regenerate(layout)
    except (ClaimcheckError, OSError) as exc:  # the record is written: say why the report lags, never fail now
        print(f"Report sources not updated now ({getattr(exc, 'message', None) or exc}); the next build includes the review.")
        return 0
    if updated:
        print("Report sources updated with the new review status.")
    else:
        print("Report sources not updated now (no complete build, or a build is running); the next build includes the review.")
    return 0


def run_list(args) -> int:
    from ..errors import ReviewError
    from ..paths import Layout
    from ..review.records import close_matches, load_reviews, progress, progress_text, status_of
    from ..review.figures import read_index

    layout = Layout.find()
    index = read_index(layout)
    if index is None:
        raise ReviewError("no figures to list: the project was never built", hint="run `python -m analysis build` first")
    figures = index["figures"]
    wanted = [f.strip() for f in args.figures] or sorted(figures)
    unknown = [f for f in wanted if f not in figures]
    if unknown:
        near = close_matches(unknown[0], sorted(figures))
        raise ReviewError(f"the last build produced no figure {', '.join(unknown)}"
                          + (f"; did you mean: {', '.join(near)}" if near else ""),
                          hint="`python -m analysis review list` shows every figure id")
    reviews = load_reviews(layout)
    width = max((len(f) for f in wanted), default=0)
    for fid in wanted:
        status = status_of(figures[fid]["sha256"], reviews.get(fid, []))
        print(f"{fid:<{width}}  {status.describe()}")
        if args.history:
            for r in status.records:
                print(f"{'':<{width}}    {r['date']}  {r['reviewer']}: {r['decision']} "
                      f"(sha256 {str(r['figure_sha256'])[:12]}) {r.get('comment', '')}")
    if not args.figures:
        print(f"Review progress: {progress_text(progress(layout))}.")
    return 0


def run_serve(args) -> int:
    from ..errors import ReviewError
    from ..paths import Layout
    from ..review_app import DEFAULT_PORT, serve

    layout = Layout.find()
    port = DEFAULT_PORT if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise ReviewError(f"--port {port} is not a port number (0-65535)")
    try:
        serve(layout, port)
    except OSError as exc:
        raise ReviewError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
                          hint="pass another --port, or stop the program that uses this one") from exc
    except KeyboardInterrupt:
        print("Review app stopped.")
    return 0
