"""Inside the grading kernel: the guard that runs the tests and the audit hook that watches the student.

This module is the kernel's entry point (``python -m autograder.grading.kernel.guard``, started by
:mod:`.sandbox`).  Before a single line of the notebook runs it:

1. reads the *brief* from an inherited file descriptor and closes it: the test cells' sources
   (keyed by a random nonce each), the imports the trusted cells make, and a MAC key;
2. imports those modules and takes a *snapshot* of them (module dicts, class dicts, builtins,
   ``sys.modules`` entries; a warm kernel's template took it before forking, see :func:`prepare`)
   and compiles every test with a private IPython transformer;
3. installs a Python audit hook (``sys.addaudithook``: it cannot be removed) that reports to the
   *channel* (a pipe the grading worker reads as it goes) every event a grader must know of: tracing
   and profiling, frame and garbage-collector introspection, ``ctypes``, processes, signals,
   sockets, code objects swapped or built, ``exec``/``compile`` called by the student's code, files
   of the hidden paths opened or listed;
4. puts ``__autograder_guard__`` in builtins and starts ipykernel as usual.

Red-team hardening (tests/grading/test_red_team.py): the guard's state is not reachable from
``__autograder_guard__`` without a reported introspection step.  The function students can see
closes over nothing but the ``send`` method of the *runner*, a suspended generator (its frame is
reachable only through ``gi_frame``, which the hook reports) holding the read-only snapshot.  Two
more generators keep the secrets in their suspended frames and serve only the runner (they check
the calling frame's code object and report any other caller): the *test vault* hands out one
compiled test at a time (code that reaches the runner's frame while a test runs finds only that
test), and the *signer* holds the key, the channel and the sequence number.  Each test runs with
the snapshot's builtins (a patched builtin cannot change what the test sees), its source enters
``linecache`` only when it runs (hidden tests are not readable before), and the value of its last
expression is returned, so IPython shows it as it would have (nbgrader's partial credit), and
reported, so the worker can compare it with what the notebook shows (:mod:`autograder.grading.worker.review`).

The worker replaces each test cell's source by ``__autograder_guard__("<nonce>")``.  The guard
checks the snapshot (reporting every difference), runs the *pre-compiled* test code in the
notebook's namespace and reports ``ok`` or the exception, which it re-raises so that nbgrader
sees the cell fail as usual.  With ``ok`` come the problems it finds then, among them any class created
since the guard started whose ``__eq__`` (or another special method a test's check relies on) is code the
notebook wrote, however the class was built (``type()`` with computed names: red-team attack i27).  The student's code can change how IPython runs cells, swap
functions, or fake outputs, but it cannot make a test report ``ok`` without running it: reports
carry a sequence number and an HMAC whose key lives only here, in closures the student can reach
only through introspection that the hook reports first (the channel is a pipe: a report sent cannot
be taken back).  The worker (:mod:`autograder.grading.worker.guarded_execute`) checks every report.

The hook never raises and never calls code the student controls (no ``str()`` of arguments): it
only records.  Blocking is the operating system's job (:mod:`.sandbox`).
"""
from __future__ import annotations

import os
import sys
import types

from .. import protocol


# -- the guard, built by small factories --------------------------------------------------------------
# Each factory below does one job and is called once, by _main, before the notebook's first cell.  Like _main,
# each is rebuilt with private globals (private_function) and reads no global name, not even a builtin
# (tests/grading/test_layout.py checks the bytecode): everything it and the closures it returns decide with
# comes in as an argument -- mostly `c`, the primitives _capture took -- and is kept in the closures' cells.

def _capture(policy):
    """The primitives and tables every other factory takes, looked up now (before any notebook code), never
    again: the builtins by name, the C functions (os.write, sys._getframe, the HMAC, the C JSON encoder), the
    accessors of ``type`` and the wrapper types, and the policy tables (``policy``).  A read-only mapping."""
    import _hashlib
    import _json
    import _thread
    import ast
    import builtins
    import functools
    import json
    import linecache
    import os
    import sys
    import types

    names = ("BaseException", "Exception", "OSError", "PermissionError", "RuntimeError", "SyntaxError",
             "TypeError", "any", "bool", "bytes", "classmethod", "compile", "complex", "dict", "exec", "eval",
             "float", "frozenset", "hasattr", "id", "int", "isinstance", "len", "list", "next", "object", "range",
             "repr", "set", "staticmethod", "str", "tuple", "type")
    captured = {name: builtins.__dict__[name] for name in names}
    type_, TypeError_ = captured["type"], captured["TypeError"]

    def no_default(value):
        raise TypeError_("not JSON")

    captured.update(policy)
    captured.update(
        getframe=sys._getframe, gettrace=sys.gettrace, getprofile=sys.getprofile, modules_dict=sys.modules,
        builtins_dict=builtins.__dict__, linecache_cache=linecache.cache, ast=ast,
        write=os.write, close=os.close, read=os.read, getcwd=os.getcwd, getpid=os.getpid, environ=os.environ,
        urandom=os.urandom, hmac_digest=_hashlib.hmac_digest, allocate_lock=_thread.allocate_lock,
        get_ident=_thread.get_ident, addaudithook=sys.addaudithook, proxy=types.MappingProxyType, mapping_items=types.MappingProxyType.items,
        # JSON through the C encoder only: no Python code (that the notebook could have patched) runs while a
        # report is being signed.  Same bytes as json.dumps(record, sort_keys=True, separators=(",", ":")).
        encode=_json.make_encoder(None, no_default, _json.encode_basestring_ascii, None, ":", ",", True, False,
                                  True),
        json_loads=json.loads,
        # A class's identity without id(): id() raises the audit event `builtins.id`, which calls the guard's
        # own hook (a Python function) each time, and the class scan takes two identities for each of the
        # 8,000 classes TensorFlow and Keras load, after every test (40 ms of every kernel).  object.__hash__ is
        # the C function behind id-like hashing (the address, rotated: one value per live object), and runs no
        # metaclass's __hash__.
        identity=captured["object"].__dict__["__hash__"],
        type_name=type_.__dict__["__name__"].__get__, subclasses_of=type_.__dict__["__subclasses__"],
        class_dict=type_.__dict__["__dict__"].__get__, class_mro=type_.__dict__["__mro__"].__get__,
        class_qualname=type_.__dict__["__qualname__"].__get__,
        function_type=types.FunctionType, method_type=types.MethodType, partial_type=functools.partial,
        code_of=types.FunctionType.__dict__["__code__"].__get__,
        staticmethod_func=captured["staticmethod"].__dict__["__func__"].__get__,
        classmethod_func=captured["classmethod"].__dict__["__func__"].__get__,
        method_func=types.MethodType.__dict__["__func__"].__get__,
        partial_func=functools.partial.__dict__["func"].__get__,
    )
    return types.MappingProxyType(captured)


def _read_brief(c) -> tuple:
    """(brief, key, channel fd): the brief read from its inherited descriptor, which is closed, and both
    descriptors' variables taken out of the environment."""
    read, close, environ = c["read"], c["close"], c["environ"]
    brief_fd = c["int"](environ.pop(c["BRIEF_FD_ENV"]))
    channel = c["int"](environ.pop(c["CHANNEL_FD_ENV"]))
    chunks = []
    while True:
        chunk = read(brief_fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    close(brief_fd)
    brief = c["json_loads"](b"".join(chunks))
    key = c["bytes"].fromhex(brief.pop("key"))
    return brief, key, channel


def _make_signer(c, key, channel) -> tuple:
    """(send, authorize): ``send(record)`` signs a report and writes it to the channel; ``authorize(*codes)``,
    called once, names the code objects whose frames may call ``send`` (the guard's own)."""
    getframe, write, hmac_digest, encode = c["getframe"], c["write"], c["hmac_digest"], c["encode"]
    any, OSError, BaseException_ = c["any"], c["OSError"], c["BaseException"]
    sign_lock = c["allocate_lock"]()
    signing = None

    def signer(allowed):
        """Holds the key, the channel and the sequence number in its (suspended) frame.

        ``allowed``: the code objects whose frames may ask it to sign, as callers of ``send``.  Any
        other caller (the notebook's code, having found ``send``) gets nothing signed for it, and the
        attempt itself is reported.
        """
        seq = 0
        line = b""
        record = yield None
        while True:
            caller = getframe(2)   # 0: here, 1: send(), 2: who called send()
            code = caller.f_code
            if getframe(1).f_code is not send_code or not any(code is c for c in allowed):
                record = {"kind": "event", "event": "the grader's channel was used from outside the guard",
                          "arg": "", "where": f"{code.co_filename}:{caller.f_lineno}"}
            caller = code = None
            seq += 1
            record["seq"] = seq
            body = "".join(encode(record, 0)).encode()
            line = body + b" " + hmac_digest(key, body, "sha256").hex().encode() + b"\n"
            record = None
            try:
                while line:
                    line = line[write(channel, line):]
            except OSError:
                pass  # the worker is gone or the channel was closed: the missing reports say so
            record = yield None

    def send(record: dict) -> None:
        # One report at a time (os.write releases the GIL; a generator runs in one thread at a time).
        if sign_lock.acquire(True, 5):
            try:
                signing(record)
            except BaseException_:  # noqa: BLE001 - a lost report is a missing report: reviewed
                pass
            finally:
                sign_lock.release()

    send_code = send.__code__

    def authorize(*codes) -> None:
        nonlocal signing
        if signing is None:
            generator = signer(codes)
            next_ = generator.send
            next_(None)
            signing = next_

    return send, authorize


def _make_describers(c, trusted_prefixes) -> tuple:
    """(is_student, where, safe): whose code a file holds, where a frame is, a short description of a value;
    none of them calls the student's code."""
    type_, type_name, repr = c["type"], c["type_name"], c["repr"]
    str_type, bytes_type, int_type = c["str"], c["bytes"], c["int"]

    def is_student(code_filename: str) -> bool:
        return not code_filename.startswith(trusted_prefixes)

    def where(frame) -> str:
        code = frame.f_code
        return f"{code.co_filename}:{frame.f_lineno}"

    def safe(value) -> str:
        """A short description of an audit argument, never calling the student's code."""
        t = type_(value)
        if t is str_type:
            return value[:200]
        if t is bytes_type:
            return repr(value[:200])
        if t is int_type:
            return repr(value)
        return type_name(t)  # type.__name__'s own getter: a metaclass property cannot run here

    return is_student, where, safe


def _make_audit_hook(c, send, describers, trusted_prefixes, protected_paths):  # noqa: C901 - one event table
    """The audit hook (``sys.addaudithook``): reports to ``send`` every event of the policy's tables that the
    student's code causes, and refuses the blocked ones; it never raises otherwise and never calls the
    student's code."""
    is_student, where, safe = describers
    getframe, getcwd, get_ident, type_ = c["getframe"], c["getcwd"], c["get_ident"], c["type"]
    str_type, int_type, len, range = c["str"], c["int"], c["len"], c["range"]
    BaseException_ = c["BaseException"]
    PermissionError_ = c["PermissionError"]
    ALWAYS, BLOCKED, FROM_STUDENT = c["ALWAYS"], c["BLOCKED"], c["FROM_STUDENT"]
    INTROSPECTION_ATTRS, WATCHED_IMPORTS = c["INTROSPECTION_ATTRS"], c["WATCHED_IMPORTS"]
    QUIET_REFUSALS, REACH_THROUGH = c["QUIET_REFUSALS"], c["REACH_THROUGH"]
    OPEN_THROUGH, LIST_THROUGH = c["OPEN_THROUGH"], c["LIST_THROUGH"]
    busy = c["set"]()       # threads inside the hook (a thread's own nested events are not reported)
    own_proc = (f"/proc/{c['getpid']()}/", "/proc/self/", "/proc/thread-self/")

    def student_caller(depth: int, through=REACH_THROUGH):
        """The student's frame that caused this event, or None (frames: hook, [C], caller...)."""
        frame = getframe(2)  # 0: here, 1: the hook, 2: the Python caller of the audited C function
        for _ in range(depth):
            if frame is None:
                return None
            filename = frame.f_code.co_filename
            if is_student(filename):
                return frame
            if not filename.endswith(through):
                return None
            frame = frame.f_back
        return None



    def absolute(path: str) -> str:
        """``path`` made absolute and normalised with str operations only (``../../source`` counts)."""
        if not path.startswith("/"):
            path = getcwd() + "/" + path
        if "/." not in path and "//" not in path:
            return path
        parts = []
        for part in path.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        return "/" + "/".join(parts)

    def other_process(path: str) -> bool:
        """A /proc entry of another process (its environment, command line, memory)."""
        return (path.startswith("/proc/") and path[6:7].isdigit() and not path.startswith(own_proc))

    def hook(event, args):
        if event not in ALWAYS and event not in FROM_STUDENT:
            return   # first: most events (every id(), compile(), exec() of any library) end here
        tid = get_ident()
        if tid in busy:
            return
        busy.add(tid)
        blocked = False
        try:
            if event in ALWAYS:
                # getframe(1): the Python frame that made the audited call (it was `.f_back`, which skipped
                # a cell calling os.fork() or os.kill() itself: red-team attack b10).
                frame = getframe(1)
                culprit, quiet = frame, False
                while culprit is not None and not is_student(culprit.f_code.co_filename):
                    quiet = quiet or culprit.f_code.co_filename.endswith(QUIET_REFUSALS)
                    culprit = culprit.f_back
                if culprit is not None:  # the student's code is on the stack (not the kernel's own start-up)
                    blocked = event in BLOCKED
                    if not (quiet and blocked):
                        send({"kind": "event", "event": event, "arg": safe(args[0]) if args else "",
                              "where": where(culprit) + ("" if culprit is frame else f" via {where(frame)}")})
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
                path = absolute(path)
                writes = (type_(mode) is str_type and mode.strip("rbt") != "") or (
                    type_(args[2] if len(args) > 2 else None) is int_type and args[2] & 0o3 != 0)
                if (protected_paths and path.startswith(protected_paths) and not path.startswith(trusted_prefixes)) or (
                        writes and path.startswith(trusted_prefixes) and not path.endswith(".pyc")):
                    frame = getframe(1).f_back
                    send({"kind": "event", "event": "open " + ("for writing" if writes else "protected path"),
                          "arg": path[:200], "where": where(frame) if frame is not None else "?"})
                elif other_process(path):
                    frame = student_caller(3, OPEN_THROUGH)
                    if frame is not None:
                        send({"kind": "event", "event": "open another process's /proc entry", "arg": path[:200],
                              "where": where(frame)})
                return
            elif event == "os.listdir" or event == "os.scandir":
                # A hidden folder itself (the grader's home, the course) or one inside it, listed by the student's
                # code: in the sandbox it shows nothing (or only the way to the Python installation), so the
                # attempt is what a reviewer sees (red-team s07).
                path = args[0] if args else None
                if not protected_paths or type_(path) is not str_type:
                    return
                path = absolute(path)
                if (path + "/").startswith(protected_paths) and not path.startswith(trusted_prefixes):
                    frame = student_caller(8, LIST_THROUGH)
                    if frame is not None:
                        send({"kind": "event", "event": "list protected path", "arg": path[:200],
                              "where": where(frame)})
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
            busy.discard(tid)
            # Raised here, in `finally`: the `return` above used to leave the hook before the check that
            # followed this block, so nothing was ever refused (red-team attacks b10-b12, b15).
            if blocked:
                raise PermissionError_(f"autograder: {event} is not allowed while grading")

    return hook


def _snapshot_for(c, brief, prepared, snapshot):
    """(snapshot, where it was taken): the warm template's, taken before it forked this kernel (the same state:
    nothing ran since) when it was taken for the same imports; else one taken now.  ``snapshot``: the functions
    (take_snapshot, snapshot_key)."""
    take_snapshot, snapshot_key = snapshot
    imports, packages = brief.get("imports", []), brief.get("protected_packages", [])
    wanted = snapshot_key(imports, packages, prepared["loaded"] if prepared is not None else c["frozenset"]())
    if prepared is None or prepared["key"] != wanted:
        return take_snapshot(imports, packages), "kernel"
    return prepared, "template"


def _make_integrity_check(c, snap, bindings):
    """``integrity(test_names, namespace, reads)``: the problems with what the tests rely on (trace or profile
    functions, the protected modules' names and classes, the builtins, the names the tests use) against the
    snapshot ``snap``; ``bindings``: name -> (module, attribute or "") bound by the trusted cells."""
    gettrace, getprofile, modules_dict, builtins_dict = c["gettrace"], c["getprofile"], c["modules_dict"], \
        c["builtins_dict"]
    module_snap, class_snap, builtins_snap = snap["modules"], snap["classes"], snap["builtins"]

    def expected_binding(module_name: str, attr: str):
        entry = module_snap.get(module_name)
        if entry is None:
            return None
        module, kept = entry
        if not attr:
            return module
        return kept.get(attr)

    def integrity(test_names, namespace, reads=()) -> list[str]:
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
        current_builtins = builtins_dict
        for k, v in builtins_snap.items():
            if current_builtins.get(k, current_builtins) is not v:
                problems.append(f"builtins.{k} was replaced or deleted")
        for name in reads:   # a builtin the test reads, shadowed by the notebook (`ValueError = Exception`)
            if name in builtins_snap and name not in bindings and name in namespace \
                    and namespace.get(name) is not builtins_snap[name]:
                problems.append(f"the name {name!r} the tests use is shadowed in the notebook's namespace")
        for name in test_names:
            if name in bindings:
                mod_name, attr = bindings[name]
                expected = expected_binding(mod_name, attr)
                if expected is not None and namespace.get(name, namespace) is not expected:
                    problems.append(f"the name {name!r} the tests use no longer refers to "
                                    f"{mod_name}{'.' + attr if attr else ''}")
        return problems[:20]

    return integrity


def _make_class_scan(c, known_classes, trusted_prefixes):
    """``deceptive_classes()``: every class created since the guard started (not in ``known_classes``) whose
    special methods a test's checks rely on are code the notebook wrote, named.

    Every class that exists when the guard starts is known (and kept alive, so that its identity, its
    address, cannot be reused); a test that passes is followed by a look at every other class
    (type.__subclasses__ from `object`, a few milliseconds) for a deceptive special method written by the
    notebook's code.  Only C-level accessors taken from `type` and the builtin wrapper types are used:
    nothing the notebook defined (a metaclass, a str subclass as a key or a name, a __hash__) runs here."""
    subclasses_of, class_dict, class_mro = c["subclasses_of"], c["class_dict"], c["class_mro"]
    class_qualname, mapping_items, code_of = c["class_qualname"], c["mapping_items"], c["code_of"]
    function_type, method_type, partial_type = c["function_type"], c["method_type"], c["partial_type"]
    staticmethod_func, classmethod_func = c["staticmethod_func"], c["classmethod_func"]
    method_func, partial_func = c["method_func"], c["partial_func"]
    staticmethod, classmethod, object, identity, set, len = c["staticmethod"], c["classmethod"], c["object"], \
        c["identity"], c["set"], c["len"]
    type_, str_type, BaseException_ = c["type"], c["str"], c["BaseException"]
    DECEPTIVE_METHODS = c["DECEPTIVE_METHODS"]

    def every_class() -> list:
        found, seen, stack = [], set(), [object]
        while stack:
            for sub in subclasses_of(stack.pop()):
                key = identity(sub)
                if key not in seen:
                    seen.add(key)
                    found.append(sub)
                    stack.append(sub)
        return found

    def text(value) -> str:
        return value[:120] if type_(value) is str_type else "?"

    def written_here(filename) -> bool:
        """Code the notebook (a cell, or a file of the submission) wrote: not the environment's, and not
        generated by a library (`@dataclass` builds `__eq__` with exec: "<string>"; the notebook's own exec
        and compile are reported by the audit hook)."""
        if type_(filename) is not str_type or filename.startswith(trusted_prefixes):
            return False
        return not filename.startswith("<") or filename.startswith("<ipython-input")

    def class_attribute(klass, name):
        """``name`` as klass's MRO gives it, found without hashing (or comparing) the notebook's keys."""
        for base in class_mro(klass):
            for k, v in mapping_items(class_dict(base)):
                if type_(k) is str_type and k == name:
                    return v
        return None

    def origin(value, depth=0):
        """(file, line) of the notebook's code behind a class attribute, or None."""
        t = type_(value)
        if t is function_type:
            code = code_of(value)
            return (code.co_filename, code.co_firstlineno) if written_here(code.co_filename) else None
        if depth > 2 or value is None:
            return None
        if t is staticmethod:
            return origin(staticmethod_func(value), depth + 1)
        if t is classmethod:
            return origin(classmethod_func(value), depth + 1)
        if t is method_type:
            return origin(method_func(value), depth + 1)
        if t is partial_type:
            return origin(partial_func(value), depth + 1)
        for hook_name in ("__call__", "__get__"):    # an instance of a class whose __call__ the notebook wrote
            found = origin(class_attribute(t, hook_name), depth + 1)
            if found is not None:
                return found
        return None

    def deceptive_classes() -> list[str]:
        problems = []
        for klass in every_class():
            if identity(klass) in known_classes:
                continue
            try:
                for name, value in mapping_items(class_dict(klass)):
                    if type_(name) is not str_type or name not in DECEPTIVE_METHODS:
                        continue
                    found = origin(value)
                    if found is not None:
                        what = ("compares equal to whatever it likes" if name in ("__eq__", "__ne__") else
                                "answers the tests' checks its own way")
                        problems.append(f"class `{text(class_qualname(klass))}`, created by the notebook's code, "
                                        f"defines `{name}` ({text(found[0])}:{found[1]}): an object that "
                                        f"{what} can pass a test it should fail")
            except BaseException_:  # noqa: BLE001 - a class that cannot be read is not a finding
                continue
            if len(problems) >= 10:
                break
        return problems

    return deceptive_classes


def _make_probe(c) -> tuple:
    """(probe_name, probe, probed, probe_problems, forget): answers that compare equal to anything, whatever
    wrote their class.

    Every operand of a comparison in a test goes through `probe` (the tests are compiled with it by `probed`,
    under a random name the notebook cannot know), which asks the value what it does: an object that compares
    equal to a fresh sentinel (or not unequal to it) would pass any `==` of a test.  That is decided by
    behaviour, not by origin: a class of the notebook's, one built with type(), a builtin bolted onto a
    class (`__eq__ = bool`), or a ready-made one (unittest.mock.ANY, a configured MagicMock).
    ``probe_problems(namespace)`` hands over (and forgets) what was noted; ``forget()`` drops it."""
    ast, type_, int_type, str_type, len = c["ast"], c["type"], c["int"], c["str"], c["len"]
    any, isinstance, list = c["any"], c["isinstance"], c["list"]
    class_qualname, object_, Exception_ = c["class_qualname"], c["object"], c["Exception"]
    list_type, tuple_type = c["list"], c["tuple"]
    plain_types = c["frozenset"]({c["int"], c["float"], c["complex"], c["str"], c["bytes"], c["bool"],
                                  type_(None)})
    probe_name = "__autograder_probe_" + c["urandom"](8).hex() + "__"
    probe_findings = []

    def deceives(value) -> bool:
        sentinel = object_()
        said = value == sentinel
        if said is True or (type_(said) is int_type and said != 0):
            return True
        return (value != sentinel) is False

    def probe(value):
        """Returns ``value`` (a comparison of the test goes on as written); notes it when it deceives."""
        try:
            t = type_(value)
            if t in plain_types:
                return value
            items = value[:20] if t is list_type or t is tuple_type else (value,)
            for item in items:
                if type_(item) not in plain_types and deceives(item) and len(probe_findings) < 10:
                    qualname = class_qualname(type_(item))
                    qualname = qualname[:120] if type_(qualname) is str_type else "?"
                    probe_findings.append(
                        f"an object of class `{qualname}` compares equal to an object it cannot know (a fresh "
                        f"sentinel): it passes any comparison a test makes, whatever its class's origin")
                    break
        except Exception_:  # noqa: BLE001 - a value that cannot be compared with a sentinel does not deceive
            pass
        return value

    compare_ops = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)

    def probed(tree):
        """``tree`` with each operand of its comparisons wrapped in a call of ``probe`` (same order, once each)."""
        def wrap(expr):
            return ast.copy_location(ast.Call(ast.Name(probe_name, ast.Load()), [expr], []), expr)

        for node in list(ast.walk(tree)):
            if isinstance(node, ast.Compare) and any(isinstance(op, compare_ops) for op in node.ops):
                node.left = wrap(node.left)
                node.comparators = [wrap(c) for c in node.comparators]
        return ast.fix_missing_locations(tree)

    def probe_problems(namespace) -> list[str]:
        found = list(probe_findings)
        probe_findings.clear()
        if probe_name in namespace:   # the name is random: only code that read the guard's state knows it
            found.append("the notebook's namespace holds the guard's probe")
        return found

    def forget() -> None:
        probe_findings.clear()

    return probe_name, probe, probed, probe_problems, forget


def _compile_tests(c, brief_tests, probed) -> dict:
    """nonce -> (grade_id, code, last expression's code or None, names, reads, filename, linecache entry): every
    test compiled now, before any student code, as IPython would run its cell, its comparisons probed."""
    from IPython.core.inputtransformer2 import TransformerManager

    ast, compile, isinstance, hasattr, len = c["ast"], c["compile"], c["isinstance"], c["hasattr"], c["len"]
    set, frozenset, SyntaxError = c["set"], c["frozenset"], c["SyntaxError"]
    transformer = TransformerManager()

    def names_of(code) -> set:
        names = set(code.co_names)
        for const in code.co_consts:
            if hasattr(const, "co_names"):
                names |= names_of(const)
        return names

    def reads_of(tree) -> frozenset:
        """Global names the test reads and never assigns (the candidates for shadowed builtins)."""
        loads, stores = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
        return frozenset(loads - stores)

    tests = {}
    for nonce, test in brief_tests.items():
        filename = f"<test cell {test['grade_id']}>"
        source = transformer.transform_cell(test["source"])
        last = None
        try:
            tree = ast.parse(source, filename)
            reads = reads_of(tree)
            tree = probed(tree)
            # As IPython runs a cell: its last expression (unless `;` ends it) is the cell's result,
            # shown by the displayhook, which nbgrader reads as partial credit.
            if tree.body and isinstance(tree.body[-1], ast.Expr) and not source.rstrip().endswith(";"):
                last = compile(ast.Expression(tree.body.pop().value), filename, "eval", dont_inherit=True)
            code = compile(tree, filename, "exec", dont_inherit=True)
        except SyntaxError as err:
            code, reads = err, frozenset()
        lines = (len(source), None, source.splitlines(True), filename)
        names = frozenset(names_of(code)) if not isinstance(code, SyntaxError) else frozenset()
        tests[nonce] = (test["grade_id"], code, last, names, reads, filename, lines)
    return tests


def _make_test_vault(c, tests, send, runner_code) -> tuple:
    """(fetch, its generator's code): ``fetch(nonce)`` hands out one compiled test of ``tests``, and only to
    the runner (a frame of ``runner_code``); any other caller gets nothing, and is reported."""
    getframe = c["getframe"]

    def test_vault(tests):
        """Holds the compiled tests (hidden ones included) in its suspended frame and hands one out
        only to the runner, so that code reaching the runner's frame while a test runs finds no other
        test there; any other caller is reported."""
        answer = None
        while True:
            nonce = yield answer
            caller = getframe(1)
            if caller.f_code is runner_code:
                answer = tests.get(nonce)
            else:
                answer = None
                send({"kind": "event", "event": "the guard's tests were asked for from outside the guard",
                      "arg": "", "where": f"{caller.f_code.co_filename}:{caller.f_lineno}"})
            caller = None

    vault = test_vault(tests)
    fetch = vault.send
    fetch(None)
    return fetch, test_vault.__code__


def _make_runner(c, send, safe, integrity, deceptive_classes, probes, builtins_snap) -> tuple:
    """(start_runner, the runner's code): ``start_runner(fetch)`` starts the runner, a generator that runs one
    test per ``send((nonce, namespace))`` (fetched from the test vault), reports ``start`` and ``result``, and
    answers [exception or None, the value of the test's last expression]; it returns that ``send``."""
    type_, type_name, tuple, dict, len = c["type"], c["type_name"], c["tuple"], c["dict"], c["len"]
    str_type, isinstance_, RuntimeError, SyntaxError = c["str"], c["isinstance"], c["RuntimeError"], \
        c["SyntaxError"]
    int, float, bool, repr = c["int"], c["float"], c["bool"], c["repr"]
    BaseException_, exec_, eval_ = c["BaseException"], c["exec"], c["eval"]
    linecache_cache, builtins_dict = c["linecache_cache"], c["builtins_dict"]
    probe_name, probe, _, probe_problems, forget = probes
    ran = c["set"]()

    def shown(value) -> dict:
        """What the worker needs to check the result the notebook shows (never calls the student's code)."""
        t = type_(value)
        if value is None:
            return {"type": "none"}
        if t is int or t is float or t is bool:
            return {"type": "number", "text": repr(value)}
        return {"type": "other", "name": type_name(t)}

    def runner(fetch):
        """Runs the tests (fetched one at a time from the test vault), one per ``send((nonce, namespace))``; yields [exception or None, result]
        (a list the caller empties, so that neither stays alive in this frame)."""
        __tracebackhide__ = True  # noqa: F841
        outcome = None
        while True:
            request = yield outcome
            outcome = None
            nonce, namespace = request if type_(request) is tuple and len(request) == 2 else (None, None)
            request = None
            entry = fetch(nonce) if type_(nonce) is str_type and type_(namespace) is dict else None
            if entry is None:
                send({"kind": "event", "event": "guard called with an unknown test", "arg": safe(nonce),
                      "where": "?"})
                outcome = [RuntimeError("autograder: unknown test"), None]
                continue
            grade_id, code, last, names, reads, filename, lines = entry
            if nonce in ran:
                send({"kind": "event", "event": "test run twice", "arg": grade_id, "where": "?"})
            ran.add(nonce)
            linecache_cache[filename] = lines   # tracebacks show the test; not readable before it runs
            send({"kind": "start", "nonce": nonce, "grade_id": grade_id,
                  "problems": integrity(names, namespace, reads)})
            if isinstance_(code, SyntaxError):
                send({"kind": "result", "nonce": nonce, "grade_id": grade_id, "status": "error",
                      "ename": "SyntaxError"})
                outcome = [code, None]
                continue
            # The test sees the builtins of the snapshot, whatever the notebook did to the module.
            pristine = dict(builtins_dict)
            pristine.update(builtins_snap)
            pristine[probe_name] = probe
            forget()
            had = "__builtins__" in namespace
            saved = namespace.get("__builtins__")
            namespace["__builtins__"] = pristine
            value = None
            try:
                exec_(code, namespace)
                if last is not None:
                    value = eval_(last, namespace)
            except BaseException_ as err:
                ename = type_name(type_(err))
                send({"kind": "result", "nonce": nonce, "grade_id": grade_id, "status": "error", "ename": ename})
                outcome = [err, None]
                err = None
                continue
            finally:
                if had:
                    namespace["__builtins__"] = saved
                else:
                    namespace.pop("__builtins__", None)
                saved = pristine = None
            send({"kind": "result", "nonce": nonce, "grade_id": grade_id, "status": "ok", "shown": shown(value),
                  "problems": integrity(names, namespace, reads) + deceptive_classes() + probe_problems(namespace)})
            outcome = [None, value]
            value = None

    def start_runner(fetch):
        tests_running = runner(fetch)
        run = tests_running.send
        run(None)
        return run

    return start_runner, runner.__code__


def _make_entry(c, run):
    """``__autograder_guard__(nonce)``, what each test cell calls: runs the test ``nonce`` through ``run`` in
    the caller's namespace, re-raises its exception (nbgrader sees the cell fail as usual) or returns the
    value of its last expression.  It closes over nothing but ``run``."""
    getframe = c["getframe"]

    def __autograder_guard__(nonce):  # noqa: N807 - the name test cells call
        __tracebackhide__ = True  # noqa: F841
        outcome = run((nonce, getframe(1).f_globals))
        failure, value = outcome
        outcome.clear()
        if failure is not None:
            try:
                raise failure
            finally:
                failure = None
        return value

    return __autograder_guard__


def _main(policy, prepared, snapshot, make) -> None:
    """Start the guard.  Run by :func:`start` as a function with private globals (:func:`private_function`), as
    is each factory in ``make`` (name -> factory): everything the guard's closures use is bound, before any
    notebook code runs, from ``policy`` (the tables), ``prepared`` (the template's snapshot or None) and
    ``snapshot`` (the functions that take one).  Nothing is read from a module afterwards: rebinding this
    module's globals from the notebook changes nothing the running guard decides with (red-team i70-i77)."""
    c = make["_capture"](policy)
    tuple, proxy = c["tuple"], c["proxy"]
    brief, key, channel = make["_read_brief"](c)
    send, authorize = make["_make_signer"](c, key, channel)
    key = None
    trusted_prefixes = tuple(brief["trusted_prefixes"])
    protected_paths = tuple(brief.get("protected_paths", ()))
    describers = make["_make_describers"](c, trusted_prefixes)
    hook = make["_make_audit_hook"](c, send, describers, trusted_prefixes, protected_paths)
    snap, snapshot_from = make["_snapshot_for"](c, brief, prepared, snapshot)
    prepared = None
    # name -> (module, attribute or "")
    bindings = proxy({name: tuple(bound) for name, bound in brief.get("bindings", {}).items()})
    integrity = make["_make_integrity_check"](c, snap, bindings)
    deceptive_classes = make["_make_class_scan"](c, snap["known_classes"], trusted_prefixes)
    probes = make["_make_probe"](c)
    tests = make["_compile_tests"](c, brief["tests"], probes[2])
    start_runner, runner_code = make["_make_runner"](c, send, describers[2], integrity, deceptive_classes, probes,
                                                     snap["builtins"])
    fetch, vault_code = make["_make_test_vault"](c, proxy(tests), send, runner_code)
    tests = brief = None
    run = start_runner(fetch)
    authorize(runner_code, hook.__code__, c["getframe"](0).f_code, vault_code)
    c["builtins_dict"]["__autograder_guard__"] = make["_make_entry"](c, run)
    send({"kind": "hello", "pid": c["getpid"](), "snapshot": {
        "modules": c["len"](snap["modules"]), "classes": c["len"](snap["classes"]), "from": snapshot_from}})
    c["addaudithook"](hook)


# The factories, in the order _main calls them; start() rebuilds each with private globals.
FACTORIES = (_capture, _read_brief, _make_signer, _make_describers, _make_audit_hook, _snapshot_for,
             _make_integrity_check, _make_class_scan, _make_probe, _compile_tests, _make_runner, _make_test_vault,
             _make_entry)


_prepared = None   # the warm template's snapshot, taken over (and cleared) by the kernel's _main


def _snapshot_key(imports, protected_packages, loaded=frozenset()) -> tuple:
    """What a snapshot depends on: the imports that were not already loaded (importing a loaded module runs
    nothing: ``warnings``, imported by every Python at start-up, makes no difference) and the protected packages."""
    return tuple(sorted(set(imports) - loaded)), tuple(sorted(set(protected_packages)))


def take_snapshot(imports, protected_packages, loaded=frozenset()) -> types.MappingProxyType:
    """Import ``imports`` and record, read-only, what the tests rely on before any notebook code runs: the
    public names of the protected packages' modules, their classes' dicts, the builtins, and every class that
    exists (identity -> class, kept alive so that a class the notebook creates never gets a known identity).
    ``loaded``: the modules that were loaded before ``imports`` were (see :func:`_snapshot_key`)."""
    import builtins
    import functools
    import importlib

    proxy = types.MappingProxyType
    for name in imports:
        try:
            module = importlib.import_module(name)
            if name.partition(".")[0] == "autograder":   # a package of ours that loads its names lazily (the
                for attr in getattr(module, "__all__", ()):   # tracker): what the tests will use, loaded now
                    getattr(module, attr)
        except BaseException:  # noqa: BLE001 - the notebook will show the same failure
            pass
    skip_keys = frozenset({"__warningregistry__", "__loader__", "__spec__", "__cached__", "_"})
    lazy_types = ("LazyLoader", "_LazyLoader", "KerasLazyLoader", "_ModuleWrapper", "DeprecationWrapper")
    module_snap: dict[str, tuple] = {}
    class_snap: list[tuple] = []
    roots = frozenset(protected_packages)

    def public(mod_name: str) -> bool:
        parts = mod_name.split(".")
        if parts[0] not in roots:
            return False
        if parts[:2] == ["autograder", "grading"]:
            return False   # the grader's own modules: nothing a test relies on, nothing the running guard reads
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
                    class_snap.append((v, proxy(dict(v.__dict__))))
                except BaseException:  # noqa: BLE001
                    pass
        module_snap[mod_name] = (module, proxy(kept))
    ipython_builtins = frozenset({"_", "__", "___", "input", "raw_input", "quit", "exit", "help", "display",
                                  "get_ipython", "copyright", "credits", "license", "__autograder_guard__"})
    # The same walk as _make_class_scan's every_class(), which stays a closure of its own (built from accessors taken when
    # the guard starts, out of the notebook's reach); this one runs before any notebook code.
    # Keyed as the scan keys them (its `identity`: object.__hash__, see _capture).
    known, stack, identity = {}, [object], object.__dict__["__hash__"]
    while stack:
        for sub in type.__dict__["__subclasses__"](stack.pop()):
            key = identity(sub)
            if key not in known:
                known[key] = sub
                stack.append(sub)
    # Read-only: the notebook's code must not be able to "update" the snapshot.
    return proxy({
        "key": _snapshot_key(imports, protected_packages, loaded), "loaded": frozenset(loaded),
        "modules": proxy(module_snap), "classes": tuple(class_snap),
        "builtins": proxy({k: v for k, v in builtins.__dict__.items()
                           if k not in ipython_builtins and not k.startswith("_i")}),
        "known_classes": proxy(known),
    })


def prepare(imports, protected_packages, loaded=frozenset()) -> None:
    """In the warm template, before it forks any kernel: take the snapshot once, for every kernel it forks
    (walking every module and class in each forked kernel costs 60 ms there, most of it copy-on-write faults).
    ``loaded``: the modules the template had loaded before it imported ``imports``."""
    global _prepared
    _prepared = take_snapshot(imports, protected_packages, loaded)


POLICY_NAMES = ("ALWAYS", "BLOCKED", "FROM_STUDENT", "INTROSPECTION_ATTRS", "WATCHED_IMPORTS", "QUIET_REFUSALS",
                "REACH_THROUGH", "OPEN_THROUGH", "LIST_THROUGH", "DECEPTIVE_METHODS", "BRIEF_FD_ENV", "CHANNEL_FD_ENV")


def policy() -> dict:
    """The tables the guard decides with (:mod:`autograder.grading.protocol`), as they are now: taken once, before
    any notebook code runs, and kept by the guard in its closures."""
    return {name: getattr(protocol, name) for name in POLICY_NAMES}


def private_function(function):
    """``function`` rebuilt with private globals (a copy of today's builtins, for its imports): the closures it
    creates read no global name (tests/grading/test_protocol.py), so ``__globals__`` / ``__builtins__`` of a
    closure reached from the notebook, and this module's globals, hold nothing the running guard reads."""
    import builtins

    private = {"__builtins__": dict(builtins.__dict__), "__name__": function.__module__}
    return types.FunctionType(function.__code__, private, function.__name__, function.__defaults__)


def start() -> None:
    """Start the guard (before any notebook code): everything it decides with is captured by this call."""
    global _prepared
    prepared, _prepared = _prepared, None
    make = types.MappingProxyType({factory.__name__: private_function(factory) for factory in FACTORIES})
    private_function(_main)(policy(), prepared, (take_snapshot, _snapshot_key), make)


def main() -> None:
    start()
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    # The kernel runs with -P (no working directory on sys.path at start-up, see guarded_execute), and
    # IPython then leaves it out too; the student's own modules (a helper .py submitted beside the
    # notebook) must still import, as in any kernel: the working directory goes LAST, so that it can
    # add modules but not shadow an installed one.
    if "" not in sys.path:
        sys.path.append("")
    from ipykernel import ipkernel, kernelapp

    app = kernelapp.IPKernelApp.instance()   # what kernelapp.launch_new_instance() does, in two steps
    # IPythonKernel.__init__ lists every module's __file__ for its debugger ("just my code" stepping, which
    # grading never uses).  In a kernel forked from a warm template, touching 3,300 module objects and their
    # strings costs 5,000 copy-on-write page faults (25 ms of every kernel start): the kernel is built while
    # its module sees a `sys` whose `modules` is empty.
    ipkernel.sys = _WithoutModules()
    try:
        app.initialize()
    finally:
        ipkernel.sys = sys
    _keep_kernel_on_exit(app.shell)
    _format_each_traceback_once(app.shell)
    app.start()


def _keep_kernel_on_exit(shell) -> None:
    """``exit()`` or ``quit()`` in a notebook makes ipykernel stop its event loop 0.1 s later: the kernel died,
    or not, depending on whether the cells after it happened to finish by then (red-team b03 lost its last
    cells on a loaded machine).  A grading kernel carries on, as after ``exit(keep_kernel=True)``."""
    from IPython.core.autocall import ZMQExitAutocall

    class KeepKernel(ZMQExitAutocall):
        def __call__(self, keep_kernel=True):
            super().__call__(keep_kernel=True)

    exiter = shell.exiter = KeepKernel(shell)
    for namespace in (shell.user_ns, shell.user_ns_hidden):
        namespace["exit"] = namespace["quit"] = exiter


def _format_each_traceback_once(shell) -> None:
    """IPython 9 formats every exception a cell raises twice: for the notebook (``showtraceback``) and again,
    with the same costly formatter (source lines, syntax colours, every module searched for the cell's file),
    for its history of exceptions (``_format_exception_for_storage``), which only the ``%notebook`` magic reads
    back.  A grading kernel keeps that history without the second rendering: the exception's name, message and
    last line, as ``traceback.format_exception_only`` writes it (a notebook of empty answers raises a dozen
    times: 0.1 s of its kernel's CPU)."""
    import traceback

    def format_for_storage(exception, filename=None, running_compiled_code=False):
        return {"ename": type(exception).__name__, "evalue": str(exception),
                "traceback": traceback.format_exception_only(type(exception), exception)}

    if hasattr(shell, "_format_exception_for_storage"):   # still IPython's name: tests/grading/test_warm.py
        shell._format_exception_for_storage = format_for_storage


class _WithoutModules:
    """``sys`` with an empty ``modules`` (see :func:`main`)."""

    modules: dict = {}

    def __getattr__(self, name):
        return getattr(sys, name)


if __name__ == "__main__":
    main()
