"""``claims add``: register a new claim in claims/register.yml from the command line (checked, in the
register's own layout), then say what the notebook must record."""

from __future__ import annotations

from . import EXIT_OK, command

EXAMPLE = ("claims add us-share-global-rd-29-srd1 --title 'U.S. share of global R&D (Key Facts), from SRD-1' "
           "--document intl-coop-overview --section 'Key Facts' "
           "--quote '| U.S. share of global R&D spending | ~29% | NSF NCSES, 2024 |' --value 29 --unit percent "
           "--comparison '~' --measure 'U.S. share of global R&D spending' --kind share "
           "--reading 'U.S. GERD as a share of the GERD of the economies in SEI 2024 Table SRD-1, current PPP dollars, 2021' "
           "--source-given 'NSF NCSES, 2024' --notebook global_rd_shares --tolerance absolute --tolerance-value 1.5 "
           "--tolerance-unit 'percentage points' --why \"a whole percent widened by one point for '~'\" --topic global-rd")


def add_parser(sub) -> None:
    p = command(sub, "claims", "Work with the claims register (claims/register.yml).", [EXAMPLE])
    actions = p.add_subparsers(dest="claims_action", metavar="ACTION", required=True)
    a = command(actions, "add", "Register a new claim: checks the id, document, quote (against the document when it is "
                "beside the project), notebook and parameter set, writes the entry after its document's last claim, "
                "and prints the claims.record call its notebook needs.", [EXAMPLE])
    a.add_argument("id", metavar="ID", help="a new kebab-case claim id")
    a.add_argument("--title", required=True, help="short title in sentence case, at most 60 characters")
    a.add_argument("--document", required=True, help="a key of `documents:` in the register")
    a.add_argument("--section", required=True, help="where the sentence sits (heading path, table, paragraph)")
    a.add_argument("--quote", required=True, help="a short verbatim excerpt of the document")
    a.add_argument("--value", required=True, type=number, help="the stated value (one number)")
    a.add_argument("--unit", required=True, help="percent, USD billion, count, year, rank, ... (register header)")
    a.add_argument("--year", type=int, default=None, help="the year the value refers to, as the document states it")
    a.add_argument("--comparison", default="=", help="= plain (default), ~ about, > more than, >= at least, < or <=")
    a.add_argument("--measure", required=True, help="what the sentence says is measured, in its own words")
    a.add_argument("--text", default=None, help="the value in the document's own words where a number cannot say it")
    a.add_argument("--kind", required=True, help="share, amount, count, date, duration, quantity, rank, trend or membership")
    a.add_argument("--reading", required=True, help="the reading the claim is judged on (docs/verdict-policy.md)")
    a.add_argument("--source-given", default=None, help="what the document itself cites for the number, verbatim")
    a.add_argument("--notebook", required=True, help="the notebook that checks it (project.yml)")
    a.add_argument("--parameters", default="default", metavar="SET", help="its parameter set (default: default)")
    a.add_argument("--tolerance", required=True, help="how far a found value may be: absolute, relative or exact")
    a.add_argument("--tolerance-value", type=number, default=None, help="for absolute and relative tolerances")
    a.add_argument("--tolerance-unit", default=None, help="e.g. 'percentage points'")
    a.add_argument("--why", required=True, help="why this tolerance: a reason a reviewer can dispute")
    a.add_argument("--topic", default=None, help="rd-share, megascience, chips, global-rd, ... (register header)")
    a.add_argument("--note", default=None, help="what a reviewer needs to know")
    a.set_defaults(handler=run_add)


def number(text: str):
    """argparse type for a stated value or tolerance: an int when whole, else a float."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def run_add(args) -> int:
    from ..claims import Register
    from ..errors import RegisterError
    from ..paths import Layout
    from ..project import Project
    from ..quotes import quote_problem
    from ..register_writer import add_claim, build_claim

    layout = Layout.find()
    register, project = Register.load(layout), Project.load(layout)
    claim = build_claim(register, project, claim_id=args.id, title=args.title, document=args.document,
                        section=args.section, quote=args.quote, value=args.value, unit=args.unit, year=args.year,
                        comparison=args.comparison, measure=args.measure, kind=args.kind, reading=args.reading,
                        notebook=args.notebook, parameters=args.parameters, tolerance=args.tolerance,
                        tolerance_value=args.tolerance_value, tolerance_unit=args.tolerance_unit, why=args.why,
                        source_given=args.source_given, topic=args.topic, text=args.text, note=args.note)
    verbatim, version = quote_problem(layout, register, args.document, args.quote)
    if verbatim is False:
        raise RegisterError(f"claim {args.id}: the quote is not verbatim in document {args.document} ({version}); "
                            "nothing was written", hint="copy the excerpt exactly as the document prints it")
    new = add_claim(layout, claim)
    rel = layout.relative(layout.register)
    where = f"after claim {new.after}" if new.after else "at the end of the claims"
    print(f"Added claim {args.id} to {rel} ({where}):\n{new.text}", end="")
    print(f"Quote: {'found verbatim in ' + args.document + ' (' + version + ')' if verbatim else 'not checked: ' + version}.")
    notebook = layout.relative(layout.notebook_source(args.notebook))
    print("Next:\n"
          f"  - record it in {notebook} (docs/adding-a-claim.md), e.g.\n"
          f"      claims.record({args.id!r}, value, rationale=f\"...\", datasets=[table], figures=[\"fig-...\"])\n"
          f"  - build: python -m analysis build {args.notebook} --no-render (it stops before any kernel starts "
          "until the notebook records the claim)\n"
          "  - after review: python -m analysis lock")
    return EXIT_OK
