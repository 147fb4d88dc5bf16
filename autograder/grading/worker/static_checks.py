"""What the grader reads in a submission before running it: edited metadata and suspicious code.

Runs in the worker on the notebook as submitted, against the instructor's source notebook (both
parsed with :mod:`ast` after IPython's own input transformations, so magics read as the calls they
become).  Nothing here is proof of cheating; each finding sends the affected notebook to an
instructor (see :mod:`.review`), and honest code (printing, plotting, re-importing NumPy, the
common magics) never triggers one.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

# Special methods that let a returned object pass a test it should fail (`==` always true, ...): one set, in the
# protocol, which the kernel's guard reads too (at start) to check them at run time.
from ..protocol import DECEPTIVE_METHODS, nbgrader_md

# Magics an honest notebook uses: timing, plotting, listing names, display formats.
ALLOWED_MAGICS = frozenset({
    "matplotlib", "time", "timeit", "capture", "who", "whos", "who_ls", "precision", "pprint", "xmode",
    "history", "lsmagic", "magic", "pinfo", "pinfo2", "pdoc", "pdef", "html", "markdown", "latex", "svg",
    "writefile", "display", "quickref", "page",
})
DANGEROUS_CALLS = frozenset({"exec", "eval", "compile", "globals", "__import__", "setattr", "delattr", "vars",
                             "breakpoint", "locals"})
DANGEROUS_ATTRS = frozenset({
    "__dict__", "__globals__", "__code__", "__closure__", "__builtins__", "__subclasses__", "__bases__",
    "__mro__", "__getattribute__", "__setattr__", "__import__", "__loader__", "__spec__", "f_back", "f_locals",
    "f_globals", "tb_frame", "gi_frame", "cr_frame", "co_code", "__defaults__", "__kwdefaults__",
    "__traceback__",
})
DANGEROUS_MODULES = frozenset({"builtins", "gc", "ctypes", "_ctypes", "cffi", "importlib", "inspect", "marshal",
                               "subprocess", "pty", "signal", "resource", "multiprocessing", "socket", "_thread",
                               "faulthandler", "dis", "code", "codeop", "atexit", "runpy", "site", "sysconfig",
                               "IPython", "ipykernel", "nbgrader", "jupyter_client", "traitlets", "zmq",
                               "tracemalloc", "_posixsubprocess"})
# Submodules of DANGEROUS_MODULES that honest notebooks import from every day (`from IPython.display
# import display, Markdown`): no shell, no kernel in them (red-team honest set, h04).
SAFE_SUBMODULES = frozenset({"IPython.display"})
SYS_DANGEROUS = frozenset({"settrace", "setprofile", "modules", "_getframe", "meta_path", "path_hooks",
                           "displayhook", "excepthook", "addaudithook", "audit",
                           "_current_frames", "setrecursionlimit", "path", "builtin_module_names",
                           "monitoring", "breakpointhook", "unraisablehook"})
OS_DANGEROUS = frozenset({"system", "popen", "fork", "forkpty", "kill", "killpg", "execv", "execve",
                          "execvp", "execl", "execlp", "spawnv", "spawnl", "posix_spawn", "dup2", "dup", "write",
                          "close", "fdopen", "getppid", "setsid", "putenv", "chmod", "chown"})


@dataclass(frozen=True)
class Finding:
    cell: int            # index in the submitted notebook (-1: the notebook as a whole)
    grade_id: str | None
    reason: str


@lru_cache(maxsize=4096)   # a class's notebooks share most cells: each is read once per worker process
def transform(source: str) -> str:
    """The cell as Python (IPython's magics and ``!`` lines rewritten), as IPython would run it."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - a broken cell: ast.parse below reports it
        return source


def parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(transform(source))
    except (SyntaxError, ValueError):
        return None


def trusted_bindings(sources: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """(modules imported, name -> [module, attribute or '']) by the instructor's trusted cells."""
    imports: list[str] = []
    bindings: dict[str, list[str]] = {}
    for source in sources:
        tree = parse(source)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    imports.append(alias.name)
                    if alias.asname:
                        bindings[alias.asname] = [alias.name, ""]
                    else:
                        top = alias.name.partition(".")[0]
                        bindings[top] = [top, ""]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imports.append(node.module)
                for alias in node.names:
                    if alias.name != "*":
                        bindings[alias.asname or alias.name] = [node.module, alias.name]
    return sorted(set(imports)), bindings


def _bound_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add(alias.asname or alias.name.partition(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
    return names


def _top_level_bound(tree: ast.Module) -> set[str]:
    """Names a cell binds in the notebook's namespace (not inside its functions)."""
    names = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
            continue
        names |= _bound_names(stmt)
    return names


def _used_names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def suspicious_code(tree: ast.Module, module_names: set[str]) -> list[str]:
    """Reasons a student's cell needs an instructor's eyes (empty: nothing found)."""
    reasons = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in DECEPTIVE_METHODS:
            reasons.append(f"defines `{node.name}` (an object that answers every comparison or check its own "
                           f"way can pass a test it should fail)")
        elif isinstance(node, ast.Name) and node.id in DANGEROUS_CALLS:
            reasons.append(f"uses `{node.id}`")
        elif isinstance(node, ast.Name) and node.id in ("__builtins__", "__loader__", "__spec__", "__file__"):
            reasons.append(f"uses `{node.id}`")
        elif isinstance(node, ast.Name) and node.id == "get_ipython":
            reasons.append("uses the IPython shell (`get_ipython()`) beyond the common magics")
        elif isinstance(node, ast.Attribute) and node.attr in DANGEROUS_ATTRS:
            reasons.append(f"reaches into `{node.attr}`")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "sys" and node.attr in SYS_DANGEROUS:
                reasons.append(f"uses `sys.{node.attr}`")
            elif node.value.id == "os" and node.attr in OS_DANGEROUS:
                reasons.append(f"uses `os.{node.attr}`")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for mod in mods:
                if mod in SAFE_SUBMODULES and isinstance(node, ast.ImportFrom):
                    continue   # (`import IPython.display` binds `IPython` itself: still reported)
                if mod.partition(".")[0] in DANGEROUS_MODULES or (mod == "os" and isinstance(node, ast.ImportFrom)):
                    reasons.append(f"imports `{mod}`")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            if not isinstance(node, ast.Delete):   # `Box.__eq__ = ...`, on a class of the notebook or any other
                for sub in (n for t in targets for n in ast.walk(t)):
                    if isinstance(sub, ast.Attribute) and sub.attr in DECEPTIVE_METHODS:
                        reasons.append(f"sets `{ast.unparse(sub)}` (an object that answers every comparison or "
                                       f"check its own way can pass a test it should fail)")
            for target in targets:
                if isinstance(target, ast.Attribute):  # np.allclose = ... (not os.environ[...] = ...)
                    root = _root_name(target)
                    if root in module_names:
                        reasons.append(f"changes `{ast.unparse(target)}` (an attribute of module `{root}`)")
    return reasons


def _strip_allowed_magics(tree: ast.Module) -> ast.Module:
    """Drop `get_ipython().run_line_magic('<allowed>', ...)` calls so they don't count as shell use."""
    class Strip(ast.NodeTransformer):
        def visit_Call(self, node):  # noqa: N802
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in ("run_line_magic", "run_cell_magic")
                    and isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name)
                    and func.value.func.id == "get_ipython" and node.args
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value in ALLOWED_MAGICS):
                return ast.Constant(None)
            return self.generic_visit(node)

    return Strip().visit(tree)


def scan(submitted, source, answer_cells: dict[int, list[str]] | None = None) -> list[Finding]:
    """Findings for one submitted notebook against its instructor's source notebook.

    ``answer_cells`` (submitted index -> grade_ids) names cells of a damaged notebook that may hold the answers
    to those answer cells, which could not be placed (:mod:`.repair`): they may bind what those answers bind.
    """
    findings: list[Finding] = []
    src_cells = {nbgrader_md(c).get("grade_id"): c for c in source.cells if nbgrader_md(c).get("grade_id")}
    src_sources = {c.source for c in source.cells if c.cell_type == "code"}
    tests = [c for c in source.cells if nbgrader_md(c).get("grade") and not nbgrader_md(c).get("solution")]
    trusted = [c for c in source.cells if c.cell_type == "code" and (nbgrader_md(c).get("locked") or c in tests)]
    test_names, test_bound = set(), set()
    for cell in tests:
        tree = parse(cell.source)
        if tree is not None:
            test_names |= _used_names(tree)
            test_bound |= _bound_names(tree)
    test_names -= test_bound   # a name the tests assign themselves cannot be planted by the student
    _, bindings = trusted_bindings([c.source for c in trusted])
    module_names = {name for name, (mod, attr) in bindings.items() if not attr}

    seen: dict[str, int] = {}
    for index, cell in enumerate(submitted.cells):
        md = nbgrader_md(cell)
        grade_id = md.get("grade_id")
        if grade_id:
            if grade_id in seen:
                findings.append(Finding(index, grade_id, f"cell id `{grade_id}` appears twice"))
            seen[grade_id] = index
            original = nbgrader_md(src_cells[grade_id]) if grade_id in src_cells else None
            if original is None:
                if md.get("grade") or md.get("locked"):
                    findings.append(Finding(index, grade_id, f"cell `{grade_id}` is not in the assignment "
                                                             "(nbgrader metadata added or renamed)"))
            else:
                changed = [k for k in ("grade", "solution", "locked", "points", "task")
                           if bool(md.get(k)) != bool(original.get(k)) or
                           (k == "points" and float(md.get(k) or 0) != float(original.get(k) or 0))]
                if changed:
                    findings.append(Finding(index, grade_id, f"nbgrader metadata of `{grade_id}` changed: "
                                                             f"{', '.join(changed)}"))
    for grade_id, cell in src_cells.items():
        if nbgrader_md(cell).get("grade") and grade_id not in seen:
            findings.append(Finding(-1, grade_id, f"graded cell `{grade_id}` was deleted (it scores 0)"))

    for index, cell in enumerate(submitted.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        md = nbgrader_md(cell)
        grade_id = md.get("grade_id")
        original = src_cells.get(grade_id)
        if original is not None and (nbgrader_md(original).get("locked") or original in tests):
            continue  # nbgrader restores this cell's source from the gradebook
        if cell.source in src_sources:
            continue  # an instructor's cell left as written
        tree = parse(cell.source)
        if tree is None:
            continue  # a syntax error: the cell fails when it runs
        own_modules = {name for name, (mod, attr) in trusted_bindings([cell.source])[1].items() if not attr}
        reasons = suspicious_code(_strip_allowed_magics(tree), module_names | own_modules)
        allowed = set()
        for answer in [original, *(src_cells.get(g) for g in (answer_cells or {}).get(index, ()))]:
            answer_tree = parse(answer.source) if answer is not None else None
            allowed |= _top_level_bound(answer_tree) if answer_tree else set()
        for name in sorted((_top_level_bound(tree) & test_names) - allowed):
            if name in bindings and _import_matches(tree, name, bindings[name]):
                continue
            reasons.append(f"rebinds `{name}`, which the tests use")
        for reason in dict.fromkeys(reasons):
            findings.append(Finding(index, grade_id, reason))
    return findings


def _import_matches(tree: ast.Module, name: str, binding: list[str]) -> bool:
    """True when every binding of `name` in the cell is the same import the instructor's cells make."""
    module, attr = binding
    found = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (alias.asname or alias.name.partition(".")[0]) == name:
                    found = True
                    if attr or (alias.asname and alias.name != module) or (not alias.asname and alias.name.partition(".")[0] != module):
                        return False
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    found = True
                    if node.module != module or alias.name != attr:
                        return False
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and node.id == name:
            return False
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return False
    return found
