"""The trust boundary, checked without a kernel: the layout by process, the kernel side's import rule, no import
cycles, and the guard's closures reading nothing from any module after it starts (issue 19)."""
from __future__ import annotations

import ast
import dis
import sys
import types
from pathlib import Path

import autograder.grading

GRADING = Path(autograder.grading.__file__).resolve().parent
PACKAGE = "autograder.grading"
# What a kernel-side module may import besides `protocol` and the standard library: the kernel it becomes.
KERNEL_RUNTIME = frozenset({"IPython", "ipykernel"})


def module_name(path: Path) -> str:
    rel = path.relative_to(GRADING).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(GRADING.rglob("*.py"))}


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (inside functions too), as absolute names
    (``from . import guard`` is the module ``...kernel.guard``; ``from ..protocol import X`` is ``...protocol``)."""
    known = modules()
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            subs = {f"{stem}.{alias.name}" for alias in node.names} & set(known)
            found.update(subs or {stem})
    return found


def test_the_layout_shows_the_three_processes():
    names = set(modules())
    for side in ("parent", "worker", "kernel"):
        assert f"{PACKAGE}.{side}" in names
    assert f"{PACKAGE}.protocol" in names
    loose = {n for n, p in modules().items() if p.parent == GRADING and p.name not in ("__init__.py", "protocol.py")}
    assert not loose, f"grading modules outside parent/, worker/, kernel/: {sorted(loose)}"


def test_the_kernel_side_imports_only_protocol_and_the_standard_library():
    allowed_ours = {PACKAGE, f"{PACKAGE}.protocol", f"{PACKAGE}.kernel"}   # (the packages' __init__ import nothing)
    bad = {}
    for name, path in modules().items():
        if not name.startswith(f"{PACKAGE}.kernel") and name != f"{PACKAGE}.protocol":
            continue
        for imported in imports_of(path):
            root = imported.partition(".")[0]
            if imported.startswith(f"{PACKAGE}.kernel.") or imported in allowed_ours:
                continue
            if name == f"{PACKAGE}.protocol" and imported.startswith("autograder"):
                bad.setdefault(name, []).append(imported)
            elif root == "autograder" or (root not in sys.stdlib_module_names and root not in KERNEL_RUNTIME) \
                    or (name == f"{PACKAGE}.protocol" and root in KERNEL_RUNTIME):
                bad.setdefault(name, []).append(imported)
    assert not bad, bad


def test_the_parent_does_not_import_the_kernel_side():
    bad = {name: sorted(i for i in imports_of(path) if i.startswith(f"{PACKAGE}.kernel"))
           for name, path in modules().items() if name.startswith(f"{PACKAGE}.parent")}
    assert not any(bad.values()), bad


def test_no_import_cycles_among_grading_modules():
    known = modules()
    graph = {}
    for name, path in known.items():
        targets = set()
        for imported in imports_of(path):
            while imported and imported not in known:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)
        graph[name] = targets
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])
    # a package's __init__ importing its own submodules lazily is no cycle: only module-to-module edges count
    cycles = [c for c in cycles if not any(n == PACKAGE for n in c)]
    assert not cycles, cycles


def test_importing_the_kernel_side_loads_no_parent_or_worker_code():
    import subprocess

    code = ("import sys; import autograder.grading.kernel.guard, autograder.grading.kernel.sandbox, "
            "autograder.grading.kernel.template; "
            "print(sorted(m for m in sys.modules if m.startswith('autograder.grading.') "
            "and not m.startswith(('autograder.grading.kernel', 'autograder.grading.protocol'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def _code_objects(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def test_the_guard_reads_no_global_name_after_it_starts():
    """Every name the guard's code uses is a local of its start-up call or of one of its factories (the closures
    hold them in cells): no module's globals, not even the builtins' module, is read once the notebook runs
    (red-team i70-i77)."""
    from autograder.grading.kernel import guard

    assert len(guard.FACTORIES) >= 10 and guard._capture in guard.FACTORIES
    reads = sorted({(code.co_name, ins.argval) for function in (guard._main, *guard.FACTORIES)
                    for code in _code_objects(function.__code__)
                    for ins in dis.get_instructions(code)
                    if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL")})
    assert not reads, reads


def test_the_guard_reading_a_global_is_caught():
    """The check above fails on a factory that reads a global (here a builtin, `len`) from its closure."""
    def factory(c):
        def closure(items):
            return len(items)
        return closure

    reads = {(code.co_name, ins.argval) for code in _code_objects(factory.__code__)
             for ins in dis.get_instructions(code) if ins.opname == "LOAD_GLOBAL"}
    assert reads == {("closure", "len")}
