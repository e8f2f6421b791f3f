"""The review app's pages (one blueprint):

* ``/``: the figures the report shows, in report order, grouped by the claim they are shown under, with
  review progress (counts and a bar); ``/?show=all``: every figure and table of the build, variants
  too, filterable by claim and status;
* ``/figure/<notebook>/<set>/<label>``: the image, the plotted rows (table and CSV download), how they
  are derived and drawn, the parameter set, the inputs with checksums, the claims it supports, the
  review history and, for a figure that needs review again, the datasets whose rows changed and what
  changed in its plotted rows;
* ``POST`` on the figure page: the review form. It calls :func:`analysis.review.records.add_review`,
  the function behind ``review add``, so it writes exactly that record. Bad input returns the form,
  scrolled to, with the message at its top; nothing is written.

Reads :mod:`analysis.review.figures` and :mod:`analysis.review.records`; never the packet writer.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for

from ..errors import ClaimcheckError, ReviewError
from ..paths import Layout
from ..review import records
from ..review.figures import parse_figure_id, read_index
from ..review.records import (
    COMMENT_MAX, DECISIONS, REVIEWER_MAX, STATUS_AGAIN, STATUSES, ReviewStatus, close_matches, count_progress,
    data_change, load_reviews, status_key, status_of,
)

bp = Blueprint("review", __name__)
IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}
SHA256 = re.compile(r"^[0-9a-f]{64}$")
FORM_FIELDS = ("reviewer", "decision", "comment", "seen_sha256")


class Build:
    """What one request sees: the figure index, review records and claims of the current build."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.index = read_index(layout)
        self.figures: dict[str, dict] = (self.index or {}).get("figures", {})
        self.reviews = load_reviews(layout)
        self.claim_runs = _read_json(layout.build_dir / "ledger-runs.json", [])
        self.claims = {r["claim"]: r for r in _read_json(layout.build_dir / "ledger.json", []) if isinstance(r, dict)}

    def status(self, figure_id: str) -> ReviewStatus:
        return status_of(self.figures[figure_id].get("sha256"), self.reviews.get(figure_id, []))

    def claims_of(self, figure_id: str) -> list[dict]:
        """Claim records (one per claim and run) that name this figure as evidence."""
        entry = self.figures[figure_id]
        return [r for r in self.claim_runs if r["run"] == entry["run"] and entry["label"] in (r.get("figures") or [])]

    def claim_title(self, claim_id: str | None) -> str:
        if claim_id is None:
            return "Shown with the run that draws them, not under a claim"
        row = self.claims.get(claim_id, {})
        title = row.get("title") or " ".join(str(row.get("quote") or "").split())
        return title if len(title) <= 100 else title[:97].rsplit(" ", 1)[0] + "..."

    def packet(self, figure_id: str) -> Path:
        return self.layout.root / self.figures[figure_id]["packet"]


def current() -> Build:
    return Build(current_app.config["LAYOUT"])


def sentence(text: str) -> str:
    """A message as a sentence: capital first letter, final full stop."""
    text = " ".join(str(text).split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else default
    except ValueError:
        return default


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        return [], []
    records_ = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return (records_[0], records_[1:]) if records_ else ([], [])


def _figure_id(notebook: str, set_name: str, label: str) -> str:
    return f"{notebook}/{set_name}#{label}"


def _url(fid: str, **extra) -> str:
    notebook, set_name, label = parse_figure_id(fid)
    return url_for("review.figure_page", notebook=notebook, set_name=set_name, label=label, **extra)


# --- the list -----------------------------------------------------------------------------------------
@bp.get("/")
def figure_list():
    build = current()
    if build.index is None:
        return render_template("message.html", title="Nothing built yet",
                               message="The project was never built: run `python -m analysis build`, then reload."), 200
    show_all = request.args.get("show") == "all"
    claim, state = request.args.get("claim", ""), request.args.get("status", "")
    rows = []
    for fid, entry in build.figures.items():
        status = build.status(fid)
        supported = sorted({r["claim"] for r in build.claims_of(fid)})
        rows.append({"id": fid, "entry": entry, "status": status, "claims": supported, "url": _url(fid)})
    report = sorted((r for r in rows if r["entry"].get("in_report")),
                    key=lambda r: (r["entry"].get("report_position") is None, r["entry"].get("report_position") or 0, r["id"]))
    progress = count_progress(r["status"].state for r in report)
    common = dict(progress=progress, version=build.index.get("project_version"), built=build.index.get("build_finished"),
                  total=len(rows), statuses=STATUSES, status_key=status_key)
    if not show_all:
        groups: list[dict] = []
        for r in report:
            claim_id = r["entry"].get("report_claim")
            if not groups or groups[-1]["claim"] != claim_id:
                groups.append({"claim": claim_id, "title": build.claim_title(claim_id), "rows": []})
            groups[-1]["rows"].append(r)
        return render_template("list.html", groups=groups, show_all=False, **common)
    # every figure: the report's first (in report order), then the others, each run's default set first
    rest = sorted((r for r in rows if not r["entry"].get("in_report")),
                  key=lambda r: (r["id"].split("/")[0], r["id"].split("#")[0].split("/")[1] != "default", r["id"]))
    ordered = report + rest
    claims = sorted({c for r in ordered for c in r["claims"]})
    shown = [r for r in ordered if not ((claim and claim not in r["claims"]) or (state and r["status"].state != state))]
    return render_template("list.html", rows=shown, claims=claims, claim=claim, state=state, show_all=True,
                           counts={s: sum(1 for r in rows if r["status"].state == s) for s in STATUSES}, **common)


# --- a figure -------------------------------------------------------------------------------------------
def figure_response(fid: str, *, error: str | None = None, error_field: str | None = None,
                    form: dict | None = None, code: int = 200):
    """The figure page (with the review form, and the message of a refused submission at its top)."""
    build = current()
    if fid not in build.figures:
        return render_template("message.html", title="No such figure",
                               message=sentence(f"the last build produced no figure {fid}"),
                               matches=close_matches(fid, sorted(build.figures))), 404
    entry, folder = build.figures[fid], build.packet(fid)
    status = build.status(fid)
    provenance = _read_json(folder / "provenance.json", {})
    columns, data_rows = _rows(folder / "data.csv")
    figure_file = next((p for p in folder.glob("figure.*")), None)
    table_file = next((p for p in folder.glob("table.*")), None)
    change = None
    if status.state == STATUS_AGAIN:
        change = data_change(build.layout, fid, status.latest, entry)
    text = lambda name: (folder / name).read_text(encoding="utf-8") if (folder / name).is_file() else None  # noqa: E731
    return render_template(
        "figure.html", fid=fid, entry=entry, status=status, provenance=provenance, columns=columns,
        data_rows=data_rows, image=figure_file is not None and figure_file.suffix in IMAGE_TYPES,
        table_text=table_file.read_text(encoding="utf-8") if table_file else None,
        derivation=text("derivation.py"), cell=text("cell.py"), parameters=_read_json(folder / "parameters.json", {}),
        inputs=_read_json(folder / "inputs.json", []), claims=build.claims_of(fid), change=change,
        decisions=DECISIONS, error=error, error_field=error_field, form=form or {},
        limits={"reviewer": REVIEWER_MAX, "comment": COMMENT_MAX},
        parts=dict(zip(("notebook", "set_name", "label"), parse_figure_id(fid))),
    ), code


def refused(message: str, *, code: int):
    """A refused POST: the figure's page with the message at the top of its form (what was typed is kept),
    or a message page when the request is not for a figure."""
    args = request.view_args or {}
    text = sentence(message) + " Nothing was written."
    if request.endpoint == "review.add_review" and all(k in args for k in ("notebook", "set_name", "label")):
        try:
            form = {k: request.form.get(k, "") for k in FORM_FIELDS}
        except Exception:  # noqa: BLE001 (a body too large to read: the form starts empty)
            form = {}
        return figure_response(_figure_id(args["notebook"], args["set_name"], args["label"]), error=text,
                               form=form, code=code)
    return render_template("message.html", title="Request refused", message=text), code


def _error_field(message: str) -> str:
    """The form field a refusal is about (it gets the focus), from its message."""
    for key, field_name in (("reviewer", "reviewer"), ("decision", "decision"), ("comment", "comment")):
        if key in message:
            return field_name
    return "reviewer"


@bp.get("/figure/<notebook>/<set_name>/<label>")
def figure_page(notebook: str, set_name: str, label: str):
    return figure_response(_figure_id(notebook, set_name, label))


@bp.post("/figure/<notebook>/<set_name>/<label>")
def add_review(notebook: str, set_name: str, label: str):
    fid = _figure_id(notebook, set_name, label)
    form = {k: request.form.get(k, "") for k in FORM_FIELDS}
    layout = current_app.config["LAYOUT"]
    entry = current().figures.get(fid)
    try:
        if not SHA256.match(form["seen_sha256"]):
            raise ReviewError("the form does not say which version of the figure you saw (its seen_sha256 is missing "
                              "or malformed): reload the page, look at the figure, then review it")
        recorded = records.add_review(layout, fid, reviewer=form["reviewer"], decision=form["decision"],
                                      comment=form["comment"], seen_sha256=form["seen_sha256"])
    except ReviewError as exc:
        if entry is None:
            return render_template("message.html", title="No such figure",
                                   message=sentence(exc.message) + " Nothing was written."), 404
        return figure_response(fid, error=sentence(exc.message) + " Nothing was written.",
                               error_field=_error_field(exc.message), form=form, code=400)
    where = layout.relative(recorded.path)
    if recorded.new:
        from ..report import regenerate

        try:
            regenerate(layout)  # as `review add` does: the report sources show the new status
        except (ClaimcheckError, OSError):
            pass  # the record is written; the next build writes the report sources
        flash(f"Review recorded in {where}; commit it with the code.", "recorded")
    else:
        flash(f"This review was already recorded, in {where}; nothing new was written.", "recorded")
    return redirect(_url(fid, _anchor="recorded"))


@bp.get("/figure/<notebook>/<set_name>/<label>/image")
def figure_image(notebook: str, set_name: str, label: str):
    build = current()
    fid = _figure_id(notebook, set_name, label)
    if fid not in build.figures:
        abort(404)
    image = next((p for p in build.packet(fid).glob("figure.*") if p.suffix in IMAGE_TYPES), None)
    if image is None:
        abort(404)
    return send_file(image, mimetype=IMAGE_TYPES[image.suffix], max_age=0)


@bp.get("/figure/<notebook>/<set_name>/<label>/data.csv")
def figure_data(notebook: str, set_name: str, label: str):
    build = current()
    fid = _figure_id(notebook, set_name, label)
    path = build.packet(fid) / "data.csv" if fid in build.figures else None
    if path is None or not path.is_file():
        abort(404)
    return send_file(path, mimetype="text/csv", as_attachment=True,
                     download_name=f"{notebook}-{set_name}-{label}.csv", max_age=0)
