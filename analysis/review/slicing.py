"""A figure's own derivation: the statements of a run's code cells that its plotted rows and its drawing
depend on (a def-use slice), and nothing else.

The slice starts from two places: the rows passed to ``figures.record("<label>", rows, ...)`` and the
figure's own labelled cell (the drawing). Walking the code cells backwards, it keeps every top-level
statement that binds or changes a name still needed; the names such a statement reads before binding
them become needed in turn. Names are resolved as Python scopes them, so a function's local variables
or a loop's own variable never pull in unrelated statements that happen to use the same name:

* a ``def`` (or ``lambda``, or comprehension) reads only its free names: its parameters and local
  variables are its own;
* a statement reads the names it uses before it binds them (``for r in rows: ...`` does not read ``r``);
* a statement changes a name in place by ``x[...] = ...``, ``x.attr = ...``, ``x += ...``, a method call
  on its own line (``rows.append(...)``), or a call of a notebook function that does one of these to a
  global (``add_point(...)`` appending to ``points``). A call on an imported module (``plt.show()``,
  ``figures.record(...)``) changes no data; in a cell that draws no figure it is kept with the module
  when the module is needed (``figures.style()`` sets how every figure looks).

Statements of another figure's cell are kept only when they bind or change a name this figure needs
(the notebook shape keeps computations out of figure cells, so in practice never).

Imports only :mod:`analysis.cells` (the import direction: cells <- slicing <- figures <- records <- packets).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from ..cells import blank_magics, cell_options, cell_source

#: Methods whose call, on a line of its own, shows or records something and changes nothing.
OUTPUT_METHODS = frozenset({"record", "show", "display", "savefig", "print"})
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
          ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


# --- names read, bound and changed ---------------------------------------------------------------------
def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _target_names(target: ast.AST) -> set[str]:
    """Names bound by an assignment target (``a``, ``a, (b, *c)``); not ``a[i]`` or ``a.x``."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_target_names(e) for e in target.elts)) if target.elts else set()
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return set()


def _target_roots(target: ast.AST) -> set[str]:
    """Names changed in place by an assignment target (``a[i] = ...``, ``a.x = ...``)."""
    if isinstance(target, (ast.Attribute, ast.Subscript)):
        root = _root_name(target)
        return {root} if root else set()
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_target_roots(e) for e in target.elts)) if target.elts else set()
    if isinstance(target, ast.Starred):
        return _target_roots(target.value)
    return set()


def _local_names(body: list[ast.stmt]) -> set[str]:
    """Names a function (or class) body binds in its own scope, nested scopes left out."""
    names: set[str] = set()
    declared: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            return
        elif isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        for child in ast.iter_child_nodes(node):
            visit(child)

    for stmt in body:
        visit(stmt)
    return names - declared


def _arguments(args: ast.arguments) -> set[str]:
    every = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
    return {a.arg for a in every}


def free_names(node: ast.AST) -> set[str]:
    """The names ``node`` reads from the scope around it: nested functions, lambdas and comprehensions
    contribute only their free names."""
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) else set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        outer = set().union(*(free_names(d) for d in node.decorator_list + node.args.defaults
                              + [d for d in node.args.kw_defaults if d is not None]))
        inner = set().union(*(free_names(s) for s in node.body)) if node.body else set()
        return outer | (inner - _arguments(node.args) - _local_names(node.body))
    if isinstance(node, ast.ClassDef):
        outer = set().union(*(free_names(d) for d in node.decorator_list + node.bases), set())
        inner = set().union(*(free_names(s) for s in node.body)) if node.body else set()
        return outer | (inner - _local_names(node.body))
    if isinstance(node, ast.Lambda):
        outer = set().union(*(free_names(d) for d in node.args.defaults), set())
        return outer | (free_names(node.body) - _arguments(node.args))
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        gens = node.generators
        first = free_names(gens[0].iter)
        bound = set().union(*(_target_names(g.target) for g in gens))
        inner: set[str] = set()
        for i, g in enumerate(gens):
            if i:
                inner |= free_names(g.iter)
            for cond in g.ifs:
                inner |= free_names(cond)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for part in parts:
            inner |= free_names(part)
        return first | (inner - bound)
    out: set[str] = set()
    for child in ast.iter_child_nodes(node):
        out |= free_names(child)
    return out


def _calls(node: ast.AST):
    """Every call in ``node`` outside nested functions and lambdas (they run only when called)."""
    if isinstance(node, ast.Call):
        yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            yield from _calls(child)


def _method_receiver(call: ast.Call) -> tuple[str | None, str | None]:
    """(root name, method) of ``root.a.b.method(...)``; (None, None) for any other call."""
    if isinstance(call.func, ast.Attribute):
        return _root_name(call.func.value), call.func.attr
    return None, None


def _globals_changed(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[set[str], set[str]]:
    """(globals a function changes in place, notebook functions it calls) from its body."""
    local = _arguments(fn.args) | _local_names(fn.body)
    declared = {n for node in ast.walk(fn) if isinstance(node, ast.Global) for n in node.names}
    changed: set[str] = set()
    called: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                changed |= _target_roots(t)
                changed |= _target_names(t) & declared
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            root, method = _method_receiver(node.value)
            if root and method not in OUTPUT_METHODS:
                changed.add(root)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called.add(node.func.id)
    return {n for n in changed if n not in local or n in declared}, called


# --- one top-level statement ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Statement:
    """One top-level statement of a code cell and the names it binds, changes and reads."""

    node: ast.stmt
    may_bind: frozenset[str]  # bound on some path (kept when one of these is needed)
    must_bind: frozenset[str]  # bound on every path (no longer needed from earlier statements)
    changes: frozenset[str]  # changed in place (kept when needed; earlier statements stay needed)
    reads: frozenset[str]  # read before being bound here
    record_labels: tuple[str, ...]  # the labels of its figures.record("<label>", ...) calls
    module_calls: frozenset[str]  # names whose method is called on a line of its own (plt.show())
    calls: frozenset[str]  # names called as functions (add_point(...))


class _Scan:
    """Reads, may- and must-bindings of one top-level statement, in execution order."""

    def __init__(self):
        self.reads: set[str] = set()
        self.may: set[str] = set()
        self.changes: set[str] = set()
        self.module_calls: set[str] = set()

    def expr(self, node: ast.AST | None, defined: set[str]) -> None:
        if node is not None:
            self.reads |= free_names(node) - defined

    def target(self, target: ast.AST, defined: set[str]) -> set[str]:
        """Bind an assignment target; returns the names it binds."""
        names = _target_names(target)
        roots = _target_roots(target)
        self.changes |= roots - defined  # a name bound earlier in this statement is its own
        for node in ast.walk(target):  # a[i] = ..., a.b[c] = ... read a, i, c
            if isinstance(node, (ast.Subscript, ast.Attribute)):
                self.expr(node.value, defined)
                if isinstance(node, ast.Subscript):
                    self.expr(node.slice, defined)
        self.may |= names
        return names

    def block(self, body: list[ast.stmt], defined: set[str]) -> set[str]:
        """Scan statements in order; returns the names bound on every path through them."""
        defined = set(defined)
        for stmt in body:
            defined |= self.stmt(stmt, defined)
        return defined

    def stmt(self, s: ast.stmt, defined: set[str]) -> set[str]:  # noqa: C901 (one branch per statement kind)
        """Scan one statement; returns the names it binds on every path."""
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.reads |= free_names(s) - defined
            self.may.add(s.name)
            return {s.name}
        if isinstance(s, (ast.Import, ast.ImportFrom)):
            names = {(a.asname or a.name).split(".")[0] for a in s.names}
            self.may |= names
            return names
        if isinstance(s, ast.Assign):
            self.expr(s.value, defined)
            bound: set[str] = set()
            for t in s.targets:
                bound |= self.target(t, defined)
            return bound
        if isinstance(s, ast.AnnAssign):
            self.expr(s.value, defined)
            return self.target(s.target, defined) if s.value is not None else set()
        if isinstance(s, ast.AugAssign):
            self.expr(s.value, defined)
            if isinstance(s.target, ast.Name):
                self.reads |= {s.target.id} - defined
                self.changes |= {s.target.id} - defined
                return set()
            self.target(s.target, defined)
            return set()
        if isinstance(s, (ast.For, ast.AsyncFor)):
            self.expr(s.iter, defined)
            names = self.target(s.target, defined)
            self.block(s.body, defined | names)
            self.block(s.orelse, defined)
            return set()  # the body may not run
        if isinstance(s, ast.While):
            self.expr(s.test, defined)
            self.block(s.body, defined)
            self.block(s.orelse, defined)
            return set()
        if isinstance(s, ast.If):
            self.expr(s.test, defined)
            return self.block(s.body, defined) & self.block(s.orelse, defined) - defined
        if isinstance(s, (ast.With, ast.AsyncWith)):
            inner = set(defined)
            for item in s.items:
                self.expr(item.context_expr, inner)
                if item.optional_vars is not None:
                    inner |= self.target(item.optional_vars, inner)
            return self.block(s.body, inner) - defined
        if isinstance(s, ast.Try) or type(s).__name__ == "TryStar":
            body = self.block(s.body, defined)
            for handler in s.handlers:
                self.expr(handler.type, defined)
                names = {handler.name} if handler.name else set()
                self.may |= names
                self.block(handler.body, defined | names)
            self.block(s.orelse, body)
            return self.block(s.finalbody, defined) - defined
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
            root, method = _method_receiver(s.value)
            if root and method not in OUTPUT_METHODS and root not in defined:
                self.module_calls.add(root)  # resolved against the notebook's imports in Slicer
        if isinstance(s, ast.Delete):
            for t in s.targets:
                self.changes |= (_target_roots(t) | _target_names(t)) - defined
        if isinstance(s, (ast.Global, ast.Nonlocal)):
            return set()
        self.expr(s, defined)  # Expr, Assert, Raise, Return, Delete, Pass, ...
        return set()


def _record_labels(stmt: ast.stmt) -> tuple[str, ...]:
    """The labels of the ``record("<label>", rows, ...)`` calls in a statement."""
    labels = []
    for node in ast.walk(stmt):
        if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else (func.id if isinstance(func, ast.Name) else None)
        if name == "record" and isinstance(node.args[0].value, str):
            labels.append(node.args[0].value)
    return tuple(labels)


def analyse(stmt: ast.stmt) -> Statement:
    """The names one top-level statement binds, changes and reads."""
    scan = _Scan()
    must = scan.stmt(stmt, set())
    calls = {c.func.id for c in _calls(stmt) if isinstance(c.func, ast.Name)}
    return Statement(stmt, frozenset(scan.may), frozenset(must), frozenset(scan.changes), frozenset(scan.reads),
                     _record_labels(stmt), frozenset(scan.module_calls), frozenset(calls))


@functools.lru_cache(maxsize=4096)
def _statements(source: str) -> tuple[Statement, ...] | None:
    """Each top-level statement of a cell, analysed; None for a cell that is not valid Python.

    Cached by source: the runs of one notebook share every cell but the injected parameters.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return tuple(analyse(stmt) for stmt in tree.body)


def _record_call(stmt: ast.stmt, label: str) -> ast.Call | None:
    for node in ast.walk(stmt):
        if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == label):
            return node
    return None


# --- one notebook ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    index: int  # position in the notebook's cells
    source: str  # magics blanked
    tags: tuple[str, ...]
    label: str | None  # the `#| label:` of the cell, if any
    statements: tuple[Statement, ...]


class Slicer:
    """The parsed code cells of one notebook, computed once for every figure of the notebook."""

    def __init__(self, notebook_json: dict):
        self.notebook_json = notebook_json

    @functools.cached_property
    def cells(self) -> list[Cell]:
        """The notebook's code cells that parse, in order."""
        cells = []
        for index, cell in enumerate(self.notebook_json.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            raw = cell_source(cell)
            source = blank_magics(raw)
            statements = _statements(source)
            if statements is None:
                continue
            label = cell_options(raw).get("label")
            cells.append(Cell(index, source, tuple(cell.get("metadata", {}).get("tags", [])),
                              label if isinstance(label, str) else None, statements))
        return cells

    @functools.cached_property
    def modules(self) -> frozenset[str]:
        """Names bound by the notebook's imports (a method call on them changes no data)."""
        return frozenset(n for c in self.cells for s in c.statements
                         if isinstance(s.node, (ast.Import, ast.ImportFrom)) for n in s.may_bind)

    @functools.cached_property
    def function_effects(self) -> dict[str, frozenset[str]]:
        """Notebook functions -> the globals a call of them changes in place (through the functions it calls too)."""
        direct: dict[str, set[str]] = {}
        calls: dict[str, set[str]] = {}
        for cell in self.cells:
            for s in cell.statements:
                if isinstance(s.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    direct[s.node.name], calls[s.node.name] = _globals_changed(s.node)
        effects = {name: set(changed) - self.modules for name, changed in direct.items()}
        changed = True
        while changed:  # through the functions each calls
            changed = False
            for name, callees in calls.items():
                extra = set().union(*(effects.get(c, set()) for c in callees)) - effects[name] if callees else set()
                if extra:
                    effects[name] |= extra
                    changed = True
        return {name: frozenset(e) for name, e in effects.items() if e}

    def _changes(self, cell: Cell, s: Statement) -> set[str]:
        """Names a statement changes in place, with the globals its calls of notebook functions change."""
        out = set(s.changes) - self.modules
        out |= {n for n in s.module_calls if n not in self.modules}  # rows.append(...)
        if cell.label is None and s.module_calls & self.modules:
            if s.reads <= self.modules:  # figures.style(), sns.set_theme(): how every later figure looks
                out |= self.modules
            else:
                out |= s.module_calls & self.modules
        for name in s.calls:
            out |= self.function_effects.get(name, frozenset())
        return out

    def slice(self, label: str) -> list[tuple[Cell, Statement]] | None:
        """The statements figure ``label``'s rows and drawing depend on, in notebook order; None if the
        notebook has neither a labelled cell nor a ``record`` call for it."""
        drawing = next((p for p, c in enumerate(self.cells) if c.label == label), None)
        record = next(((p, n) for p, c in enumerate(self.cells) for n, s in enumerate(c.statements)
                       if label in s.record_labels), None)
        if drawing is None and record is None:
            return None
        kept: set[tuple[int, int]] = set()
        needed: set[str] = set()
        # the start: the whole drawing cell, and the record call's rows (not its bookkeeping arguments)
        starts: list[tuple[int, int, set[str]]] = []
        if drawing is not None:
            cell = self.cells[drawing]
            for n, s in reversed(list(enumerate(cell.statements))):
                if label in s.record_labels or not s.record_labels:
                    starts.append((drawing, n, set(s.reads) | self._changes(cell, s)))
        if record is not None:
            p, n = record
            call = _record_call(self.cells[p].statements[n].node, label)
            rows = call.args[1] if call is not None and len(call.args) > 1 else next(
                (k.value for k in (call.keywords if call is not None else []) if k.arg == "data"), None)
            starts.append((p, n, free_names(rows) if rows is not None else set()))
        last = max((p, n) for p, n, _ in starts)
        pending = {(p, n): names for p, n, names in starts}
        for p in range(last[0], -1, -1):
            cell = self.cells[p]
            for n in range(len(cell.statements) - 1, -1, -1):
                s = cell.statements[n]
                if (p, n) in pending:
                    kept.add((p, n))
                    needed = (needed - s.must_bind) | pending[(p, n)]
                    continue
                if (p, n) > last:
                    continue
                changes = self._changes(cell, s)
                if (s.may_bind | changes) & needed:
                    kept.add((p, n))
                    needed = (needed - s.must_bind) | s.reads | (changes - self.modules)
        return [(self.cells[p], self.cells[p].statements[n]) for p, n in sorted(kept)]

    def derivation(self, label: str) -> str | None:
        """See :func:`derivation`."""
        kept = self.slice(label)
        if kept is None:
            return None
        out, current = [], None
        for cell, s in kept:
            if cell.index != current:
                what = (" (parameters)" if "parameters" in cell.tags
                        else " (injected parameters)" if "injected-parameters" in cell.tags
                        else " (draws it)" if cell.label == label else "")
                out += (["", ""] if out else []) + [f"# --- cell {cell.index}{what}"]
                current = cell.index
            lines = cell.source.splitlines()
            first = min([s.node.lineno] + [d.lineno for d in getattr(s.node, "decorator_list", [])])
            out.append("\n".join(lines[first - 1:s.node.end_lineno]))
        return "\n".join(out) + "\n"


def derivation(notebook_json: dict, label: str) -> str | None:
    """The code that derives and draws figure ``label``: a def-use slice of the run's code cells.

    Starts from the rows passed to ``figures.record(label, rows, ...)`` and from the figure's own
    labelled cell, and keeps, in cell order, every statement they depend on (the loads, the
    parameters, each computation), each group headed by its cell number. None when the notebook has
    neither the labelled cell nor the record call.
    """
    return Slicer(notebook_json).derivation(label)
