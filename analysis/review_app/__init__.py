"""The review app: ``python -m analysis review serve [--port N]``, a local web app on 127.0.0.1.

A Flask application (app factory :func:`create_app`, one blueprint in :mod:`.views`) with Jinja2
templates in ``analysis/templates/review/``. Every request reads the current build
(``_build/review/index.json``, the packets, the ledgers) and the committed review records, so a
rebuild needs no restart.

Only the app's own pages can drive it:

* every form carries a CSRF token (Flask-WTF's ``CSRFProtect``; the token lives in the session cookie,
  signed with a key made for this process, ``SameSite=Strict``, named per port);
* a POST whose ``Origin`` (or, without one, ``Referer``) is not the app's own origin is refused (403);
* a ``Host`` header other than ``127.0.0.1:PORT`` or ``localhost:PORT`` is refused (400: Flask's
  ``TRUSTED_HOSTS`` and a port check), so a page on another site cannot read the app through DNS
  rebinding;
* a request larger than ``MAX_CONTENT_LENGTH`` is refused (413); each field has its own limit
  (:mod:`analysis.review.records`).

Status messages travel as Flask flashed messages (in the signed session), never in the URL.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..errors import ClaimcheckError
from ..paths import Layout

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
TRUSTED_HOSTS = ["127.0.0.1", "localhost"]
MAX_REQUEST_BYTES = 64 * 1024  # a review form with the longest comment is well under this
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "review"

csrf = CSRFProtect()


def create_app(layout: Layout | None = None, config: dict | None = None) -> Flask:
    """The review app for the project at ``layout`` (default: the project around the current folder).

    ``config`` overrides the defaults (tests set ``PORT``, ``WTF_CSRF_ENABLED``, ...). ``PORT`` is the
    port the app is served on: a request naming another port in its ``Host`` header is refused.
    """
    from . import views

    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.config.from_mapping(
        LAYOUT=layout or Layout.find(),
        PORT=None,
        SECRET_KEY=secrets.token_hex(32),  # per process: a restart voids old pages' tokens (they say so)
        TRUSTED_HOSTS=list(TRUSTED_HOSTS),  # Flask >= 3.1; werkzeug ignores the port, see _check_request
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # the token lasts as long as the session: a page may stay open for hours
    )
    app.config.update(config or {})
    app.before_request(_check_request)  # before CSRFProtect's own hook: a foreign origin is named as such
    csrf.init_app(app)
    app.register_blueprint(views.bp)
    app.add_url_rule("/", endpoint="index", view_func=views.figure_list)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        message = ("the form's security token is missing or out of date (the page was opened before the review app "
                   "restarted, or the form was not sent from the app's own page): reload the page, then review again")
        return views.refused(message, code=400)

    @app.errorhandler(413)
    def too_large(exc):
        message = (f"the review is larger than {MAX_REQUEST_BYTES // 1024} KB, far more than the longest comment allowed: "
                   "shorten the comment")
        return views.refused(message, code=413)

    @app.errorhandler(ClaimcheckError)
    def project_error(exc: ClaimcheckError):
        return render_template("message.html", title="The project cannot be read", message=views.sentence(exc.message),
                               hint=views.sentence(exc.hint) if exc.hint else None), 503

    return app


def _check_request():
    """Refuse a Host naming another port than the app's, and a POST from another origin."""
    from . import views

    port = request.host.rpartition(":")[2] if ":" in request.host else ""
    expected_port = current_app.config.get("PORT")
    if expected_port is not None and port != str(expected_port):
        abort(400, description=f"Host {request.host!r} is not this app's address (it serves port {expected_port}).")
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    own = f"{request.scheme}://{request.host}"
    origin = request.headers.get("Origin")
    if origin is not None:
        allowed = origin == own
    else:
        referer = urlsplit(request.headers.get("Referer") or "")
        allowed = f"{referer.scheme}://{referer.netloc}" == own
    if not allowed:
        sender = origin or request.headers.get("Referer")
        where = f"from another site ({sender})" if sender else "without saying which page sent it (no Origin or Referer header)"
        return views.refused(f"this form was sent {where}, not from the review app's own page at {own}/", code=403)
    return None


def serve(layout: Layout, port: int = DEFAULT_PORT, echo=print) -> None:
    """Serve the review app on http://127.0.0.1:<port>/ until interrupted."""
    import socket

    from werkzeug.serving import make_server

    with socket.socket() as probe:  # werkzeug exits on a busy port; say so as our own error (OSError)
        probe.bind((HOST, port))
    app = create_app(layout)
    server = make_server(HOST, port, app, threaded=True)
    # two apps on 127.0.0.1 share cookies (cookies ignore the port): one cookie name per port keeps their
    # sessions, and so their CSRF tokens, apart
    app.config.update(PORT=server.server_port, SESSION_COOKIE_NAME=f"claimcheck-review-{server.server_port}")
    echo(f"Review app for {layout.root} on http://{HOST}:{server.server_port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
