"""Adding and correcting data as an analyst does (issue 25), on copies of the fixture project:

* docs/adding-a-claim.md as one scenario: a dataset and a claim added with the commands alone
  (`data add`, `data bib`, `claims add`), each mistake of the way reported before any kernel starts;
* `data revert` (and the build's hint) undoing an accepted data change, then a build that executes nothing;
* `release` refusing a dirty tree; the quote check saying when and why it was not made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess

import pytest
import yaml

from conftest import TempProject
from test_catalog import snapshot

TODAY = dt.date.today().isoformat()
RANKS = "data/raw/src-three/ranks.csv"
ADD = ("data", "add", RANKS, "--title", "Rank of the U.S. among R&D performers, 2020", "--source", "Test source three",
       "--publisher", "Test Publisher", "--year", "2024", "--url", "https://example.org/src-three", "--locator", "Table 4",
       "--confidence", "high: the publisher's own table")
CLAIM = ("claims", "add", "us-rank-2020", "--title", "U.S. rank among R&D performers, 2020", "--document", "doc-a",
         "--section", "Intro", "--quote", "the U.S. ranked first in 2020", "--value", "1", "--unit", "rank",
         "--year", "2020", "--measure", "U.S. rank among R&D performers", "--kind", "rank",
         "--reading", "the U.S. position among R&D performers in 2020 (1 = largest)", "--notebook", "alpha",
         "--tolerance", "exact", "--why", "a rank")
RECORD_CELL = ('ranks = analysis.load("src-three.ranks")\n'
               'us_rank = ranks.query("entity == \'USA\' and year == 2020")["value"].item()\n'
               'claims.record("us-rank-2020", us_rank, rationale=f"the table ranks the U.S. {us_rank:.0f} in 2020", '
               'datasets=[ranks])\n')


def built_copy(built_mini: TempProject, dest) -> TempProject:
    """A copy of the session's built fixture project, with its _build/ (current: the build state is project-relative)."""
    shutil.copytree(built_mini.root, dest, symlinks=True)
    return TempProject(dest)


def git(project: TempProject, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=project.root,
                          capture_output=True, text=True, check=True)
    return proc.stdout


def commit_all(project: TempProject, message: str = "commit") -> None:
    if not project.path(".git").exists():
        project.path(".gitignore").write_text("/_build/\n__pycache__/\n")
        git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", message)


def refused_before_kernels(project: TempProject, says: tuple[str, ...]) -> None:
    """`build` fails naming each of ``says``, before any kernel started: nothing executed, no output touched."""
    outputs = {p: p.stat().st_mtime_ns for p in project.path("_build/notebooks").rglob("*.ipynb")}
    proc = project.cli("build", "--no-render")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Executing" not in proc.stdout and "Traceback" not in proc.stderr
    for text in says:
        assert text in proc.stderr, f"{text!r} not in {proc.stderr}"
    assert {p: p.stat().st_mtime_ns for p in project.path("_build/notebooks").rglob("*.ipynb")} == outputs
    assert not project.path("_build/failed").exists() or not list(project.path("_build/failed").rglob("*.ipynb"))
    status = project.cli("status")  # status sees the same, and says the build would fail
    assert status.returncode == 1 and "The build would fail before any kernel starts" in status.stderr
    assert says[0] in status.stderr


def add_cell(project: TempProject, notebook: str, source: str) -> None:
    """What an analyst types in JupyterLab: a code cell at the end of the notebook (outputs cleared)."""
    path = project.path(f"notebooks/{notebook}.ipynb")
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "added-cell", "metadata": {},
                        "outputs": [], "source": source})
    path.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")


def test_a_dataset_and_a_claim_added_with_the_commands_alone(built_mini, tmp_path):
    """docs/adding-a-claim.md, step by step, with the mistakes an analyst makes on the way."""
    project = built_copy(built_mini, tmp_path / "mini")
    project.cli("lock", check=True)
    project.cli("data", "bib", check=True)  # the project's bibliography, as the real project has one
    register_before = project.path("claims/register.yml").read_text()

    # 1. the data: the CSV under data/raw/<source-id>/<table>.csv ...
    project.path(RANKS).parent.mkdir(parents=True)
    project.path(RANKS).write_text("entity,year,measure,value,unit,locator\n"
                                   "USA,2020,rank,1,rank,Table 4\nCHN,2020,rank,2,rank,Table 4\n")
    proc = project.cli("data", "accept", "src-three.ranks")  # mistake: accept before the entry exists
    assert proc.returncode == 1 and "has no entry to accept" in proc.stderr and f"data add {RANKS}" in proc.stderr
    refused_before_kernels(project, (f"{RANKS} is in no catalog entry of data/datapackage.json",
                                     f"python -m analysis data add {RANKS}"))
    proc = project.cli("data", "validate")
    assert proc.returncode == 1 and f"FAIL  {RANKS}" in proc.stdout and "not catalogued" in proc.stderr

    # ... catalogued by `data add`, which prints the entry it wrote
    proc = project.cli(*ADD, check=True)
    entry = next(r for r in project.read_json("data/datapackage.json")["resources"] if r["name"] == "src-three.ranks")
    assert proc.stdout.startswith("Added dataset src-three.ranks to data/datapackage.json:\n")
    assert json.dumps(entry, indent=2, ensure_ascii=False) in proc.stdout
    assert entry["path"] == "raw/src-three/ranks.csv"
    assert entry["hash"] == "sha256:" + hashlib.sha256(project.path(RANKS).read_bytes()).hexdigest()
    assert entry["bytes"] == project.path(RANKS).stat().st_size and entry["obtained"]["accessed"] == TODAY
    assert entry["sources"] == [{"title": "Test source three", "publisher": "Test Publisher", "year": 2024,
                                 "path": "https://example.org/src-three", "locator": "Table 4"}]
    fields = {f["name"]: f for f in entry["schema"]["fields"]}
    assert fields["entity"] == {"name": "entity", "type": "string", "constraints": {"required": True, "enum": ["CHN", "USA"]}}
    assert fields["year"]["type"] == "integer" and fields["value"] == {
        "name": "value", "type": "number", "constraints": {"required": True, "minimum": 0}}
    assert entry["schema"]["primaryKey"] == ["entity", "year", "measure"] and entry["schema"]["missingValues"] == [""]
    stale = "Warning: report/references.bib is out of date with data/datapackage.json"
    assert stale in project.cli("status").stdout  # mistake: the bibliography not regenerated
    proc = project.cli("data", "bib", check=True)
    assert "Wrote report/references.bib (3 sources)" in proc.stdout and stale not in project.cli("status").stdout
    assert "@misc{src-three," in project.path("report/references.bib").read_text()

    # 2. the claim: `claims add` writes the register entry after the document's last claim
    proc = project.cli(*CLAIM, check=True)
    assert "Added claim us-rank-2020 to claims/register.yml (after claim china-ratio)" in proc.stdout
    assert "claims.record('us-rank-2020', value" in proc.stdout
    register = project.path("claims/register.yml").read_text()
    assert register.startswith(register_before)  # every byte of the old register kept
    added = yaml.safe_load(register[len(register_before):])
    assert added == [{"id": "us-rank-2020", "title": "U.S. rank among R&D performers, 2020", "document": "doc-a",
                      "section": "Intro", "quote": "the U.S. ranked first in 2020",
                      "stated": {"value": 1, "unit": "rank", "year": 2020, "comparison": "=",
                                 "measure": "U.S. rank among R&D performers"},
                      "source_given": None, "kind": "rank",
                      "reading": "the U.S. position among R&D performers in 2020 (1 = largest)",
                      "check": {"notebook": "alpha", "parameters": "default"},
                      "tolerance": {"type": "exact", "why": "a rank"}}]
    # mistake: the notebook does not record the claim yet
    refused_before_kernels(project, ("claim us-rank-2020: notebooks/alpha.ipynb never records it",
                                     "add `claims.record('us-rank-2020', value, rationale=...)` to notebooks/alpha.ipynb"))

    # 3. the notebook records it, from the new table; mistake: the table is not declared for the notebook
    add_cell(project, "alpha", RECORD_CELL)
    refused_before_kernels(project, ("notebooks/alpha.ipynb (code cell 6) loads dataset 'src-three.ranks', which "
                                     "project.yml does not declare for notebook 'alpha'",
                                     "add src-three.ranks to notebooks.alpha.datasets in project.yml"))
    yml = project.path("project.yml")
    yml.write_text(yml.read_text().replace("datasets: [src-one.values]\n", "datasets: [src-one.values, src-three.ranks]\n", 1))

    # 4. build: only the notebook's runs execute; the claim is in the ledger and the report sources
    proc = project.cli("build", "--no-render", check=True)
    assert sorted(project.executed()) == ["alpha/default", "alpha/later"]
    assert "us-rank-2020: new claim, 1 (reproduced)" in proc.stdout  # a rank prints as an integer
    row = next(r for r in project.read_json("_build/ledger.json") if r["claim"] == "us-rank-2020")
    assert (row["reproduced"], row["verdict"], row["datasets"]) == (1.0, "reproduced", ["src-three.ranks"])
    sources = {p.name: p.read_text() for p in project.path("_build/report").glob("*.qmd")}
    assert any("us-rank-2020" in text for text in sources.values()), sorted(sources)
    assert "src-three" in sources.get("_data-sources.qmd", "") or any("Test source three" in t for t in sources.values())

    # 5. lock
    proc = project.cli("lock", check=True)
    assert "Locked 4 claims" in proc.stdout and "us-rank-2020" in project.read_json("claims/lock.json")["claims"]


def test_data_add_refuses_what_breaks_the_address_scheme_and_changes_nothing(mini, tmp_path):
    outside = tmp_path / "ranks.csv"
    outside.write_text("entity,year,measure,value,unit,locator\nUSA,2020,rank,1,rank,T4\n")
    for rel in ("data/raw/ranks.csv", "data/raw/Src_Four/Ranks.csv", "data/raw/src-four/deeper/ranks.csv"):
        mini.path(rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(outside, mini.path(rel))
    (mini.path("data/raw/.ignore")).write_text("# not data: the test's stray copies\nranks.csv\nSrc_Four/*\nsrc-four/*\n")
    before = snapshot(mini)
    flags = ADD[3:]
    cases = [(str(outside), f"{outside} is outside data/raw/"),
             ("data/raw/ranks.csv", "does not follow the address scheme data/raw/<source-id>/<table>.csv"),
             ("data/raw/src-four/deeper/ranks.csv", "does not follow the address scheme"),
             ("data/raw/Src_Four/Ranks.csv", "gives the dataset name 'Src_Four.Ranks', which breaks the address scheme"),
             ("data/raw/src-one/values.csv", "the name 'src-one.values' is already taken"),
             ("data/raw/src-nine/values.csv", "data/raw/src-nine/values.csv does not exist")]
    for path, message in cases:
        proc = mini.cli("data", "add", path, *flags)
        assert proc.returncode == 1 and message in proc.stderr, (path, proc.stderr)
    proc = mini.cli("data", "add", "data/raw/src-one/values.csv", "--title", "x")  # missing flags: the verb's usage
    assert proc.returncode == 2 and proc.stderr.startswith("usage: python -m analysis data add")
    assert "--source" in proc.stderr.splitlines()[-1]
    assert snapshot(mini) == before
    assert mini.cli("data", "validate").returncode == 0  # the stray copies are listed as ignored


def test_schema_inferred_for_a_table_is_brought_to_the_conventions(mini):
    rel = "data/raw/src-five/shares.csv"
    mini.path(rel).parent.mkdir(parents=True)
    mini.path(rel).write_text("entity,year,measure,value,unit,vintage,note\r\n"
                              "USA,2010,share,0.4,fraction,2012,\r\nUSA,2010,share,0.41,fraction,2014,revised\r\n")
    proc = mini.cli("data", "add", rel, *ADD[3:], check=True)
    assert "entity-year-measure repeats in some rows: the primary key was widened to entity, year, measure, vintage" in proc.stdout
    assert "formatting normalised" in proc.stdout and b"\r\n" not in mini.path(rel).read_bytes()
    entry = next(r for r in mini.read_json("data/datapackage.json")["resources"] if r["name"] == "src-five.shares")
    fields = {f["name"]: f for f in entry["schema"]["fields"]}
    assert fields["value"]["constraints"] == {"required": True, "minimum": 0, "maximum": 1}
    assert fields["note"] == {"name": "note", "type": "string"} and fields["vintage"]["constraints"] == {"required": True}
    assert mini.cli("data", "validate", "src-five.shares").returncode == 0


def test_claims_add_checks_the_entry_and_the_quote(mini, tmp_path):
    documents = tmp_path / "documents"
    documents.mkdir()
    text = ("A test document. In 2010 the U.S. had 40% in 2010, and U.S. R&D was $700 billion. China spent 80% of the U.S.\n"
            "In 2020 \u201cthe U.S. ranked first\u201d in 2020.\n")
    (documents / "doc-a.txt").write_text(text, encoding="utf-8")
    register = mini.path("claims/register.yml")
    register.write_text(register.read_text().replace(
        "    reference_date_basis: \"printed publication date (test fixture)\"\n",
        "    reference_date_basis: \"printed publication date (test fixture)\"\n"
        f"    sha256: {hashlib.sha256(text.encode()).hexdigest()}\n"))
    env = {"CLAIMCHECK_DOCUMENTS": str(documents)}
    before = snapshot(mini)
    flags = list(CLAIM[3:])

    def with_flag(name, value):
        out = list(flags)
        out[out.index(name) + 1] = value
        return out

    cases = [(["china-ratio", *flags], "claim id 'china-ratio' is already in claims/register.yml"),
             (["Us_Rank", *flags], "claim id 'Us_Rank' is not kebab-case"),
             (["us-rank-2020", *with_flag("--document", "doc-b")], "unknown document 'doc-b'; did you mean 'doc-a'?"),
             (["us-rank-2020", *with_flag("--notebook", "alpah")], "no notebook 'alpah' in project.yml; did you mean 'alpha'?"),
             (["us-rank-2020", *with_flag("--title", "x" * 61)], "the title must be 1 to 60 characters, found 61"),
             (["us-rank-2020", *with_flag("--quote", "the U.S. ranked second in 2020")],
              "the quote is not verbatim in document doc-a (sha256 ")]
    for args, message in cases:
        proc = mini.cli("claims", "add", *args, env=env)
        assert proc.returncode == 1 and message in proc.stderr, (args[0], proc.stderr)
    assert snapshot(mini) == before
    proc = mini.cli("claims", "add", "us-rank-2020", *with_flag("--quote", '"the U.S. ranked first" in 2020'), env=env,
                    check=True)
    assert "Quote: found verbatim in doc-a (sha256 " in proc.stdout
    assert 'quote: "\\"the U.S. ranked first\\" in 2020"' in register.read_text()
    status = mini.cli("status", env=env).stdout  # the quote check's outcome, with the document's version
    assert "Quotes: 4 quote(s) found verbatim in 1 document(s) (doc-a sha256 " in status


def test_the_quote_check_says_why_it_was_not_made(built_mini, tmp_path):
    project = built_copy(built_mini, tmp_path / "mini")
    seeds = (tmp_path / "shared" / "seeds").resolve()  # ../shared/seeds beside the project: absent here
    status = project.cli("status")
    assert status.returncode == 0
    assert f"Quotes: not checked for doc-a: {seeds} does not exist (the documents are kept outside the repository; " \
           "set $CLAIMCHECK_DOCUMENTS to the folder that holds them)." in status.stdout
    seeds.mkdir(parents=True)
    (seeds / "doc-a.txt").write_text("another version of the document\n")
    proc = project.cli("check")  # no sha256 recorded in the fixture's register: no file can be matched
    assert "Quotes: not checked for doc-a: the register records no sha256 for it" in proc.stdout


def test_a_missing_data_file_is_named_before_any_kernel(built_mini, tmp_path):
    project = built_copy(built_mini, tmp_path / "mini")
    project.path("data/raw/src-two/values.csv").unlink()
    refused_before_kernels(project, ("data/raw/src-two/values.csv (dataset src-two.values) is missing",
                                     "python -m analysis data revert src-two.values"))


def test_data_revert_undoes_an_accepted_change_and_the_build_executes_nothing(built_mini, tmp_path):
    project = built_copy(built_mini, tmp_path / "mini")
    project.cli("lock", check=True)
    commit_all(project, "accepted data, locked")
    csv = project.path("data/raw/src-one/values.csv")
    committed = csv.read_bytes()
    csv.write_text(csv.read_text().replace("USA,2010,share,0.4,", "USA,2010,share,0.45,"))
    project.cli("data", "accept", "src-one.values", check=True)
    project.cli("build", "--no-render", check=True)
    assert sorted(project.executed()) == ["alpha/default", "alpha/later", "gamma/default"]
    project.cli("lock", check=True)

    # reverting the CSV alone (what `git checkout` does) leaves the catalog's accepted edit: the hint says so
    git(project, "checkout", "--", "data/raw/src-one/values.csv")
    refused_before_kernels(project, (
        "data/raw/src-one/values.csv (dataset src-one.values) is back at its last committed version, but "
        "data/datapackage.json still records the accepted edit",
        "run `python -m analysis data revert src-one.values` (restores its catalog entry too; "
        "`git checkout -- data/datapackage.json` does the same",
        "claims/lock.json accepted values computed from another version of src-one.values (claims china-ratio, "
        "usa-share-2010): `git checkout -- claims/lock.json` restores the committed lock"))

    proc = project.cli("data", "revert", "src-one.values", check=True)
    assert "Reverted dataset src-one.values to the last commit (git HEAD): restored its entry in data/datapackage.json " \
           "(hash, bytes, obtained)." in proc.stdout
    assert git(project, "status", "--porcelain", "--", "data") == ""  # file and entry as committed
    out = project.cli("build", "--no-render", check=True).stdout
    assert project.executed() == [] and "Restored 3 run(s)" in out

    # the edit again, undone the way the hint's alternative says: the CSV and the catalog from git
    csv.write_text(csv.read_text().replace("USA,2010,share,0.4,", "USA,2010,share,0.45,"))
    proc = project.cli("data", "revert", "data/raw/src-one/values.csv", check=True)  # not accepted: the file alone
    assert "~ changed  USA | 2010 | share: value: 0.45 -> 0.4" in proc.stdout and csv.read_bytes() == committed
    assert "Nothing to revert" in project.cli("data", "revert", "src-one.values", check=True).stdout
    csv.write_text(csv.read_text().replace("USA,2010,share,0.4,", "USA,2010,share,0.45,"))
    project.cli("data", "accept", "src-one.values", check=True)
    assert project.cli("build", "--no-render", check=True) and project.executed() == []  # in the store
    git(project, "checkout", "--", "data/raw/src-one/values.csv", "data/datapackage.json", "claims/lock.json")
    out = project.cli("build", "--no-render", check=True).stdout
    assert project.executed() == [] and "none moved against claims/lock.json" in out


def test_release_refuses_a_dirty_tree(built_mini, tmp_path):
    project = built_copy(built_mini, tmp_path / "mini")
    proc = project.cli("release")
    assert proc.returncode == 1 and "is not a git checkout with a commit" in proc.stderr and "--allow-dirty" in proc.stderr
    commit_all(project)
    readme = project.path("extras/README.md")
    readme.write_text(readme.read_text() + "An uncommitted line.\n")
    project.path("notebooks/scratch.ipynb").write_text("{}")  # untracked, where the build reads
    proc = project.cli("release")
    assert proc.returncode == 1
    assert "the working tree has 2 uncommitted change(s), so the release would not match commit " in proc.stderr
    assert "M extras/README.md" in proc.stderr and "?? notebooks/scratch.ipynb" in proc.stderr
    assert not project.path("releases").exists()
    proc = project.cli("release", "--allow-dirty", check=True)
    assert "Warning: releasing with --allow-dirty from 2 uncommitted change(s)" in proc.stdout
    folder = next(project.path("releases").iterdir())
    record = json.loads((folder / "release.json").read_text())
    assert record["dirty"] is True and record["allow_dirty"] is True
    assert record["uncommitted"] == ["M extras/README.md", "?? notebooks/scratch.ipynb"]
    assert "- released with --allow-dirty: 2 uncommitted change(s): `M extras/README.md`" in (folder / "summary.md").read_text()


@pytest.mark.parametrize("argv, says", [
    (["build", "--forse"], ["usage: python -m analysis build", "unrecognized arguments: --forse; did you mean '--force'?"]),
    (["build", "-j", "0"], ["usage: python -m analysis build", "expected a whole number of at least 1, got '0'"]),
    (["build", "-j", "-3"], ["usage: python -m analysis build", "at least 1, got '-3'"]),
    (["data", "accept", "--alll"], ["usage: python -m analysis data accept", "did you mean '--all'?"]),
    (["review", "add", "x", "--reviewer", "me", "--decision", "approved", "--coment", "ok"],
     ["usage: python -m analysis review add", "did you mean '--comment'?"]),
])
def test_a_wrong_option_shows_the_usage_of_its_verb(argv, says, capsys, monkeypatch):
    from analysis.cli import parse

    monkeypatch.setattr("sys.argv", ["python -m analysis"])
    with pytest.raises(SystemExit) as exit_:
        parse(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    for text in says:
        assert text in err, err
    assert not err.startswith("usage: python -m analysis [-h]")


def test_every_verb_has_a_description_and_examples_that_name_this_projects_things():
    """Real ids in the help: every example parses, and names notebooks, runs, datasets, figures, documents that exist."""
    import re

    from analysis.catalog import Catalog
    from analysis.claims import Register
    from analysis.cli import parser, subparsers
    from analysis.paths import Layout
    from analysis.project import Project
    from conftest import REPO

    layout = Layout(REPO)
    project, catalog, register = Project.load(layout), Catalog.load(layout), Register.load(layout)
    runs = {f"{n}/{s}" for n, cfg in project.notebooks.items() for s in cfg.parameter_sets} | set(project.notebooks)
    files = {layout.relative(catalog.path(n)) for n in catalog.resources}

    def labels(notebook):
        return set(re.findall(r"#\| label: ((?:fig|tbl)-[a-z0-9-]+)", layout.notebook_source(notebook).read_text()))

    def walk(p, path=()):
        yield path, p
        for name, child in subparsers(p).items():
            yield from walk(child, (*path, name))

    main = parser()
    seen = 0
    for path, p in walk(main):
        if not path:
            continue
        assert p.description and "\n" not in p.description and p.description.endswith("."), path
        assert getattr(p, "examples", None), f"{' '.join(path)} has no example"
        assert "example" in p.format_help(), path
        for example in p.examples:
            import shlex

            args = main.parse_args(shlex.split(example))
            assert example.split()[: len(path)] == list(path) or len(path) == 1, (path, example)
            seen += 1
            for run in getattr(args, "runs", []) or []:
                assert run in runs, (example, run)
            for name in ([args.name] if isinstance(getattr(args, "name", None), str) else []) + list(getattr(args, "names", []) or []):
                assert name in catalog.resources or name in files, (example, name)
            for fid in ([args.figure] if getattr(args, "figure", None) else []) + list(getattr(args, "figures", []) or []):
                run, _, label = fid.partition("#")
                assert run in runs and label in labels(run.partition("/")[0]), (example, fid)
            if path[-1:] == ("add",) and path[0] == "data":
                source_id = args.path.split("/")[2]
                assert any(n.startswith(source_id + ".") for n in catalog.resources)  # a source of this project
                assert args.path not in files  # a new table of it
            if path[-1:] == ("add",) and path[0] == "claims":
                assert args.document in register.documents and args.notebook in project.notebooks
                assert args.id not in register.claims
    assert seen >= 20


def test_the_guide_walks_through_the_scenario_with_the_helps_examples():
    """docs/adding-a-claim.md's commands, in order, are the scenario's; its `data add` and `claims add` commands
    are the examples their --help prints (so the guide, the help and this test cannot drift apart)."""
    import re
    import shlex

    from analysis.cli import parser
    from analysis.cli.claims import EXAMPLE as CLAIMS_EXAMPLE
    from conftest import REPO

    text = (REPO / "docs" / "adding-a-claim.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:3] == ["python", "-m", "analysis"]:
                commands.append(words[3:])
    verbs = [" ".join(c[:2]) if c[0] in ("data", "claims") else c[0] for c in commands]
    assert verbs == ["data add", "data bib", "claims add", "build", "build", "lock"]
    main = parser()
    parsed = [main.parse_args(c) for c in commands]
    data_add = next(p for p in parser()._actions if p.dest == "verb").choices["data"]
    data_example = next(a for a in data_add._actions if a.dest == "action").choices["add"].examples[0]
    assert parsed[0] == main.parse_args(shlex.split(data_example))
    assert parsed[2] == main.parse_args(shlex.split(CLAIMS_EXAMPLE))
