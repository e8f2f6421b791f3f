"""The review app: ``python -m analysis review serve [--port N]``, a local web app on 127.0.0.1.

A Flask application with Jinja2 templates (``analysis/templates/review/``). Every request reads the
current build (``_build/review/index.json``, the packets, ``_build/ledger-runs.json``) and the
committed review records, so a rebuild needs no restart.

* ``/``: every figure and table with its review status, filterable by claim and status;
* ``/figure/<notebook>/<set>/<label>``: the image, the plotted rows (table and CSV download), how they
  are derived, the parameter set, the inputs with checksums, the claims it supports, the review history
  and, for a figure that needs review again, what changed in its rows since the last review;
* ``POST`` on the figure page: the review form. It calls :func:`analysis.review.add_review`, the
  function behind ``review add``, so it writes exactly that record (data first, record last). Bad input
  is shown on the page and nothing is written.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from flask import Flask, abort, redirect, render_template, request, send_file, url_for

from . import review
from .errors import ClaimcheckError, ReviewError
from .paths import Layout

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}


class Build:
    """What one request sees: the figure index, review records and claims of the current build."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.index = review.read_index(layout)
        self.figures: dict[str, dict] = (self.index or {}).get("figures", {})
        self.reviews = review.load_reviews(layout)
        runs_path = layout.build_dir / "ledger-runs.json"
        self.claim_runs = json.loads(runs_path.read_text(encoding="utf-8")) if runs_path.is_file() else []

    def status(self, figure_id: str) -> review.ReviewStatus:
        return review.status_of(self.figures[figure_id].get("sha256"), self.reviews.get(figure_id, []))

    def claims_of(self, figure_id: str) -> list[dict]:
        """Claim records (one per claim and run) that name this figure as evidence."""
        entry = self.figures[figure_id]
        return [r for r in self.claim_runs if r["run"] == entry["run"] and entry["label"] in (r.get("figures") or [])]

    def packet(self, figure_id: str) -> Path:
        return self.layout.root / self.figures[figure_id]["packet"]


def _figure_id(notebook: str, set_name: str, label: str) -> str:
    return f"{notebook}/{set_name}#{label}"


def _read_json(path: Path, default):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else default


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        return [], []
    records = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return (records[0], records[1:]) if records else ([], [])


def create_app(layout: Layout | None = None) -> Flask:
    """The review app for the project at ``layout`` (default: the project around the current folder)."""
    layout = layout or Layout.find()
    app = Flask(__name__, template_folder="templates/review")
    app.config["LAYOUT"] = layout

    def current() -> Build:
        return Build(layout)

    @app.errorhandler(ClaimcheckError)
    def project_error(exc: ClaimcheckError):
        return render_template("message.html", title="The project cannot be read", message=str(exc)), 500

    @app.get("/")
    def figure_list():
        build = current()
        if build.index is None:
            return render_template("message.html", title="Nothing built yet",
                                   message="The project was never built: run `python -m analysis build`, then reload."), 200
        claim, state = request.args.get("claim", ""), request.args.get("status", "")
        rows, claims = [], set()
        for fid, entry in build.figures.items():
            status = build.status(fid)
            supported = sorted({r["claim"] for r in build.claims_of(fid)})
            claims.update(supported)
            if (claim and claim not in supported) or (state and status.state != state):
                continue
            notebook, set_name, label = review.parse_figure_id(fid)
            rows.append({"id": fid, "entry": entry, "status": status, "claims": supported,
                         "url": url_for("figure_page", notebook=notebook, set_name=set_name, label=label)})
        counts = {s: sum(1 for f in build.figures if build.status(f).state == s) for s in review.STATUSES}
        return render_template("list.html", rows=rows, claims=sorted(claims), statuses=review.STATUSES,
                               claim=claim, state=state, counts=counts, total=len(build.figures),
                               version=build.index.get("project_version"), built=build.index.get("build_finished"))

    def page(fid: str, *, error: str | None = None, form: dict | None = None, recorded: str | None = None, code=200):
        build = current()
        if fid not in build.figures:
            return render_template("message.html", title="No such figure",
                                   message=f"The last build produced no figure {fid}.",
                                   matches=review.close_matches(fid, sorted(build.figures))), 404
        entry, folder = build.figures[fid], build.packet(fid)
        status = build.status(fid)
        provenance = _read_json(folder / "provenance.json", {})
        columns, data_rows = _rows(folder / "data.csv")
        figure_file = next((p for p in folder.glob("figure.*")), None)
        table_file = next((p for p in folder.glob("table.*")), None)
        change = None
        if status.state == review.STATUS_AGAIN:
            change = review.data_change(layout, fid, status.latest, entry)
        text = lambda name: (folder / name).read_text(encoding="utf-8") if (folder / name).is_file() else None  # noqa: E731
        return render_template(
            "figure.html", fid=fid, entry=entry, status=status, provenance=provenance, columns=columns,
            data_rows=data_rows, image=figure_file is not None and figure_file.suffix in IMAGE_TYPES,
            table_text=table_file.read_text(encoding="utf-8") if table_file else None,
            derivation=text("derivation.py"), cell=text("cell.py"), parameters=_read_json(folder / "parameters.json", {}),
            inputs=_read_json(folder / "inputs.json", []), claims=build.claims_of(fid), change=change,
            decisions=review.DECISIONS, error=error, form=form or {}, recorded=recorded,
            parts=dict(zip(("notebook", "set_name", "label"), review.parse_figure_id(fid))),
        ), code

    @app.get("/figure/<notebook>/<set_name>/<label>")
    def figure_page(notebook: str, set_name: str, label: str):
        return page(_figure_id(notebook, set_name, label), recorded=request.args.get("recorded"))

    @app.post("/figure/<notebook>/<set_name>/<label>")
    def add_review(notebook: str, set_name: str, label: str):
        fid = _figure_id(notebook, set_name, label)
        form = {k: request.form.get(k, "") for k in ("reviewer", "decision", "comment", "seen_sha256")}
        entry = current().figures.get(fid)
        try:
            if entry is not None and form["seen_sha256"] and form["seen_sha256"] != entry.get("sha256"):
                raise ReviewError("the figure was rebuilt since this page was opened; look at it again, then review it")
            path = review.add_review(layout, fid, reviewer=form["reviewer"], decision=form["decision"] or "",
                                     comment=form["comment"])
        except ReviewError as exc:
            if entry is None:
                return render_template("message.html", title="No such figure", message=exc.message + (
                    f" ({exc.hint})" if exc.hint else "") + ". Nothing was written."), 404
            return page(fid, error=exc.message, form=form, code=400)
        from .report import regenerate

        try:
            regenerate(layout)  # as `review add` does: the report sources show the new status
        except ClaimcheckError:
            pass  # the next build writes them
        return redirect(url_for("figure_page", notebook=notebook, set_name=set_name, label=label,
                                recorded=layout.relative(path)))

    @app.get("/figure/<notebook>/<set_name>/<label>/image")
    def figure_image(notebook: str, set_name: str, label: str):
        build = current()
        fid = _figure_id(notebook, set_name, label)
        if fid not in build.figures:
            abort(404)
        image = next((p for p in build.packet(fid).glob("figure.*") if p.suffix in IMAGE_TYPES), None)
        if image is None:
            abort(404)
        return send_file(image, mimetype=IMAGE_TYPES[image.suffix], max_age=0)

    @app.get("/figure/<notebook>/<set_name>/<label>/data.csv")
    def figure_data(notebook: str, set_name: str, label: str):
        build = current()
        fid = _figure_id(notebook, set_name, label)
        path = build.packet(fid) / "data.csv" if fid in build.figures else None
        if path is None or not path.is_file():
            abort(404)
        return send_file(path, mimetype="text/csv", as_attachment=True,
                         download_name=f"{notebook}-{set_name}-{label}.csv", max_age=0)

    return app


def serve(layout: Layout, port: int = DEFAULT_PORT, echo=print) -> None:
    """Serve the review app on http://127.0.0.1:<port>/ until interrupted."""
    import socket

    from werkzeug.serving import make_server

    with socket.socket() as probe:  # werkzeug exits on a busy port; say so as our own error (OSError)
        probe.bind((HOST, port))
    server = make_server(HOST, port, create_app(layout), threaded=True)
    echo(f"Review app for {layout.root} on http://{HOST}:{server.server_port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
