"""Inside the grading kernel: the guard that runs the tests and the audit hook that watches the student.

This module is the kernel's entry point (``python -m autograder.grading.guard``, started by
:mod:`.sandbox`).  Before a single line of the notebook runs it:

1. reads the *brief* from an inherited file descriptor and closes it: the test cells' sources
   (keyed by a random nonce each), the imports the trusted cells make, and a MAC key;
2. imports those modules and takes a *snapshot* of them (module dicts, class dicts, builtins,
   ``sys.modules`` entries) and compiles every test with a private IPython transformer;
3. installs a Python audit hook (``sys.addaudithook``: it cannot be removed) that reports to the
   *channel* (a pipe the grading worker reads as it goes) every event a grader must know of: tracing
   and profiling, frame and garbage-collector introspection, ``ctypes``, processes, signals,
   sockets, code objects swapped or built, ``exec``/``compile`` called by the student's code;
4. puts ``__autograder_guard__`` in builtins and starts ipykernel as usual.

The worker replaces each test cell's source by ``__autograder_guard__("<nonce>")``.  The guard
checks the snapshot (reporting every difference), runs the *pre-compiled* test code in the
notebook's namespace and reports ``ok`` or the exception, which it re-raises so that nbgrader
sees the cell fail as usual.  The student's code can change how IPython runs cells, swap
functions, or fake outputs, but it cannot make a test report ``ok`` without running it: reports
carry a sequence number and an HMAC whose key lives only here, in closures the student can reach
only through introspection that the hook reports first (the channel is a pipe: a report sent cannot
be taken back).  The worker (:mod:`.guarded_execute`) checks every report.

The hook never raises and never calls code the student controls (no ``str()`` of arguments): it
only records.  Blocking is the operating system's job (:mod:`.sandbox`).
"""
from __future__ import annotations

import os
import sys

BRIEF_FD_ENV = "AUTOGRADER_BRIEF_FD"
CHANNEL_FD_ENV = "AUTOGRADER_CHANNEL_FD"

# Audit events always reported, whoever raises them (nothing in an honest grading run does).
ALWAYS = frozenset({
    "sys.settrace", "sys.setprofile", "sys.addaudithook", "sys._current_frames", "gc.get_objects",
    "gc.get_referrers", "gc.get_referents", "os.fork", "os.forkpty", "os.kill", "os.killpg", "os.system",
    "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen", "pty.spawn", "ctypes.dlopen",
    "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.call_function", "ctypes.addressof", "ctypes.string_at",
    "ctypes.wstring_at", "ctypes.PyObj_FromPtr", "socket.connect", "socket.bind", "socket.sendto",
    "socket.sendmsg", "resource.setrlimit", "resource.prlimit",
})
# Of those, refused outright (PermissionError) when the student's code asks: other processes, signals,
# native calls, sockets, resource limits.  Tracing and introspection are only reported.
BLOCKED = frozenset(ALWAYS - {"sys.settrace", "sys.setprofile", "sys.addaudithook", "sys._current_frames",
                              "gc.get_objects", "gc.get_referrers", "gc.get_referents"})
# Reported only when the student's own code (a notebook cell, an exec'd string, a file of the
# submission) is the direct caller, or calls through one of REACH_THROUGH (inspect, traceback).
FROM_STUDENT = frozenset({"sys._getframe", "exec", "compile", "import", "object.__getattr__",
                          "object.__setattr__", "object.__delattr__", "code.__new__", "function.__new__",
                          "marshal.loads", "marshal.load", "open"})
INTROSPECTION_ATTRS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back", "__code__",
                                 "__globals__", "__closure__", "__builtins__", "gi_code", "cr_code",
                                 "f_locals", "f_globals"})
WATCHED_IMPORTS = frozenset({"ctypes", "_ctypes", "cffi", "_posixsubprocess", "_testcapi", "_testinternalcapi"})
REACH_THROUGH = ("inspect.py", "traceback.py", "functools.py", "<frozen importlib._bootstrap>")


def _main() -> None:  # noqa: C901 - one closure on purpose: its state must not be reachable
    import _hashlib
    import builtins
    import functools
    import types
    import json
    import linecache

    getframe = sys._getframe
    write, close, read = os.write, os.close, os.read
    hmac_digest = _hashlib.hmac_digest
    str_type, bytes_type, int_type = str, bytes, int
    exec_ = builtins.exec
    type_ = type
    isinstance_ = isinstance
    dumps = json.dumps
    BaseException_ = BaseException

    brief_fd = int(os.environ.pop(BRIEF_FD_ENV))
    channel = int(os.environ.pop(CHANNEL_FD_ENV))
    chunks = []
    while True:
        chunk = read(brief_fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    close(brief_fd)
    brief = json.loads(b"".join(chunks))
    key = bytes.fromhex(brief.pop("key"))
    trusted_prefixes = tuple(brief["trusted_prefixes"])
    protected_paths = tuple(brief.get("protected_paths", ()))

    state = {"seq": 0, "busy": False, "ran": set()}

    def send(record: dict) -> None:
        state["seq"] += 1
        record["seq"] = state["seq"]
        body = dumps(record, sort_keys=True, separators=(",", ":")).encode()
        line = body + b" " + hmac_digest(key, body, "sha256").hex().encode() + b"\n"
        try:
            while line:
                line = line[write(channel, line):]
        except OSError:
            pass  # the worker is gone or the channel was closed: the missing reports say so

    def is_student(code_filename: str) -> bool:
        return not code_filename.startswith(trusted_prefixes)

    def where(frame) -> str:
        code = frame.f_code
        return f"{code.co_filename}:{frame.f_lineno}"

    def student_caller(depth: int):
        """The student's frame that caused this event, or None (frames: hook, [C], caller...)."""
        frame = getframe(2)  # 0: here, 1: the hook, 2: the Python caller of the audited C function
        for _ in range(depth):
            if frame is None:
                return None
            filename = frame.f_code.co_filename
            if is_student(filename):
                return frame
            if not filename.endswith(REACH_THROUGH):
                return None
            frame = frame.f_back
        return None

    def safe(value) -> str:
        """A short description of an audit argument, never calling the student's code."""
        t = type_(value)
        if t is str_type:
            return value[:200]
        if t is bytes_type:
            return repr(value[:200])
        if t is int_type:
            return repr(value)
        return t.__name__ if type_(t.__name__) is str_type else "?"

    def hook(event, args):
        if state["busy"]:
            return
        if event not in ALWAYS and event not in FROM_STUDENT:
            return
        state["busy"] = True
        try:
            if event in ALWAYS:
                frame = getframe(1).f_back
                culprit = frame
                while culprit is not None and not is_student(culprit.f_code.co_filename):
                    culprit = culprit.f_back
                if culprit is not None:  # the student's code is on the stack (not the kernel's own start-up)
                    send({"kind": "event", "event": event, "arg": safe(args[0]) if args else "",
                          "where": where(culprit) + ("" if culprit is frame else f" via {where(frame)}")})
                    if event in BLOCKED:
                        state["block"] = event
                return
            if event == "object.__getattr__" or event == "object.__setattr__" or event == "object.__delattr__":
                name = args[1] if len(args) > 1 else None
                if type_(name) is not str_type or name not in INTROSPECTION_ATTRS:
                    return
            elif event == "import":
                name = args[0]
                if type_(name) is not str_type or name.partition(".")[0] not in WATCHED_IMPORTS:
                    return
            elif event == "open":
                path, mode = args[0], args[1] if len(args) > 1 else None
                if type_(path) is not str_type:
                    return
                writes = (type_(mode) is str_type and mode.strip("rbt") != "") or (
                    type_(args[2] if len(args) > 2 else None) is int_type and args[2] & 0o3 != 0)
                if (protected_paths and path.startswith(protected_paths) and not path.startswith(trusted_prefixes)) or (
                        writes and path.startswith(trusted_prefixes) and not path.endswith(".pyc")):
                    frame = getframe(1).f_back
                    send({"kind": "event", "event": "open " + ("for writing" if writes else "protected path"),
                          "arg": path[:200], "where": where(frame) if frame is not None else "?"})
                return
            frame = student_caller(3)
            if frame is None:
                return
            arg = safe(args[1]) if event.startswith("object.") and len(args) > 1 else (
                safe(args[0]) if args else "")
            send({"kind": "event", "event": event, "arg": arg, "where": where(frame)})
        except BaseException_:  # noqa: BLE001 - the hook never raises
            pass
        finally:
            state["busy"] = False
        if state.pop("block", None):
            raise PermissionError(f"autograder: {event} is not allowed while grading")

    # -- snapshot of what the tests rely on ------------------------------------------------
    import importlib

    for name in brief.get("imports", []):
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - the notebook will show the same failure
            pass
    skip_keys = frozenset({"__warningregistry__", "__loader__", "__spec__", "__cached__", "_"})
    lazy_types = ("LazyLoader", "_LazyLoader", "KerasLazyLoader", "_ModuleWrapper", "DeprecationWrapper")
    module_snap: dict[str, tuple] = {}
    class_snap: list[tuple] = []
    roots = frozenset(brief.get("protected_packages", []))

    def public(mod_name: str) -> bool:
        parts = mod_name.split(".")
        if parts[0] not in roots:
            return False
        return parts[0] == "autograder" or not any(
            p.startswith("_") or p in ("src", "python", "compat", "tests") for p in parts[1:])

    api_types = (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType, types.MethodType,
                 staticmethod, classmethod, property, functools.partial)
    seen_classes = set()
    for mod_name, module in list(sys.modules.items()):
        if module is None or not public(mod_name):
            continue
        try:
            items = dict(module.__dict__)
        except BaseException:  # noqa: BLE001
            continue
        kept = {}
        for k, v in items.items():
            if k in skip_keys or type(v).__name__ in lazy_types or not isinstance(v, api_types):
                continue
            if k.startswith("_") and not mod_name.startswith("autograder"):
                continue
            kept[k] = v
            if (isinstance(v, type) and id(v) not in seen_classes
                    and str(getattr(v, "__module__", "")).partition(".")[0] in roots):
                seen_classes.add(id(v))
                try:
                    class_snap.append((v, dict(v.__dict__)))
                except BaseException:  # noqa: BLE001
                    pass
        module_snap[mod_name] = (module, kept)
    builtins_snap = dict(builtins.__dict__)
    bindings = brief.get("bindings", {})  # name -> [module, attribute or ""]
    gettrace, getprofile = sys.gettrace, sys.getprofile
    modules_dict = sys.modules

    def expected_binding(module_name: str, attr: str):
        entry = module_snap.get(module_name)
        if entry is None:
            return None
        module, kept = entry
        if not attr:
            return module
        return kept.get(attr)

    def integrity(test_names, namespace) -> list[str]:
        problems = []
        if gettrace() is not None:
            problems.append("a trace function is set (sys.settrace)")
        if getprofile() is not None:
            problems.append("a profile function is set (sys.setprofile)")
        for mod_name, (module, kept) in module_snap.items():
            if modules_dict.get(mod_name) is not module:
                problems.append(f"sys.modules[{mod_name!r}] was replaced")
                continue
            current = module.__dict__
            for k, v in kept.items():
                if current.get(k, current) is not v:
                    problems.append(f"{mod_name}.{k} was replaced or deleted")
        for cls, kept in class_snap:
            current = cls.__dict__
            for k, v in kept.items():
                if current.get(k, current) is not v:
                    problems.append(f"{cls.__module__}.{cls.__qualname__}.{k} was replaced or deleted")
            for k in current:
                if k not in kept and not k.startswith("_"):
                    problems.append(f"{cls.__module__}.{cls.__qualname__}.{k} was added")
        current_builtins = builtins.__dict__
        for k, v in builtins_snap.items():
            if k in ("_", "__", "___", "input", "raw_input", "quit", "exit", "help", "display", "get_ipython",
                     "copyright", "credits", "license") or k.startswith("_i"):
                continue
            if current_builtins.get(k, current_builtins) is not v:
                problems.append(f"builtins.{k} was replaced or deleted")
        for name in test_names:
            if name in bindings:
                mod_name, attr = bindings[name]
                expected = expected_binding(mod_name, attr)
                if expected is not None and namespace.get(name, namespace) is not expected:
                    problems.append(f"the name {name!r} the tests use no longer refers to "
                                    f"{mod_name}{'.' + attr if attr else ''}")
        return problems[:20]

    # -- the tests, compiled now, before any student code --------------------------------
    from IPython.core.inputtransformer2 import TransformerManager

    transformer = TransformerManager()

    def names_of(code) -> set:
        names = set(code.co_names)
        for const in code.co_consts:
            if hasattr(const, "co_names"):
                names |= names_of(const)
        return names

    tests = {}
    for nonce, test in brief["tests"].items():
        filename = f"<test cell {test['grade_id']}>"
        source = transformer.transform_cell(test["source"])
        try:
            code = compile(source, filename, "exec", dont_inherit=True)
        except SyntaxError as err:
            code = err
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        tests[nonce] = (test["grade_id"], code, frozenset(names_of(code)) if not isinstance(code, SyntaxError) else ())

    def __autograder_guard__(nonce):  # noqa: N807 - the name test cells call
        __tracebackhide__ = True  # noqa: F841
        entry = tests.get(nonce) if type_(nonce) is str_type else None
        if entry is None:
            send({"kind": "event", "event": "guard called with an unknown test", "arg": safe(nonce), "where": "?"})
            raise RuntimeError("autograder: unknown test")
        grade_id, code, names = entry
        if nonce in state["ran"]:
            send({"kind": "event", "event": "test run twice", "arg": grade_id, "where": "?"})
        state["ran"].add(nonce)
        caller = getframe(1)
        namespace = caller.f_globals
        send({"kind": "start", "nonce": nonce, "grade_id": grade_id,
              "problems": integrity(names, namespace)})
        if isinstance_(code, SyntaxError):
            send({"kind": "result", "nonce": nonce, "grade_id": grade_id, "status": "error", "ename": "SyntaxError"})
            raise code
        try:
            exec_(code, namespace)
        except BaseException_ as err:
            ename = type_(err).__name__
            send({"kind": "result", "nonce": nonce, "grade_id": grade_id, "status": "error",
                  "ename": ename if type_(ename) is str_type else "?"})
            raise
        send({"kind": "result", "nonce": nonce, "grade_id": grade_id, "status": "ok",
              "problems": integrity(names, namespace)})

    builtins.__autograder_guard__ = __autograder_guard__
    send({"kind": "hello", "pid": os.getpid(), "snapshot": {"modules": len(module_snap), "classes": len(class_snap)}})
    sys.addaudithook(hook)


def main() -> None:
    _main()
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
