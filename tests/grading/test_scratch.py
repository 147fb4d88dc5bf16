"""The /tmp folders a killed run leaves are removed by the next run, and no one else's (autograder/grading/worker/scratch.py)."""
import os
import subprocess
import sys
import time

from autograder.grading.worker import scratch
from process_check import processes


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _folder(root, name):
    path = root / name
    path.mkdir()
    (path / "notebook.ipynb").write_text("{}")
    return path


def test_a_folder_is_named_after_the_process_that_made_it(tmp_path):
    made = scratch.make("grade-lesson01_variables", dir=str(tmp_path))
    match = scratch.NAME.match(os.path.basename(made))
    assert match and int(match["pid"]) == os.getpid() and int(match["namespace"]) == scratch.pid_namespace()
    assert oct(os.stat(made).st_mode & 0o777) == oct(0o700)


def test_the_sweep_removes_only_folders_whose_maker_is_gone(tmp_path):
    dead, live, ns = _dead_pid(), os.getpid(), scratch.pid_namespace()
    gone = [_folder(tmp_path, f"{kind}-{ns}_{dead}_abcd1234") for kind in ("agts", "agw", "agj", "grade-ps1-2")]
    kept = [_folder(tmp_path, f"agj-{ns}_{live}_abcd1234"),          # its maker still runs
            _folder(tmp_path, f"grade-ps1-{ns}_{live}_x_y_z_w_"),
            _folder(tmp_path, f"agj-{ns + 1}_{dead}_abcd1234"),      # made in another PID namespace: its maker
            _folder(tmp_path, "agj-k3j9x0qa"),                          # may run, unseen; not a name make() makes
            _folder(tmp_path, f"agj-{dead}_abcd1234"),
            _folder(tmp_path, f"other-{ns}_{dead}_abcd1234"),
            _folder(tmp_path, f"agj-{ns}_{dead}_abcd12345")]
    (tmp_path / f"agw-{ns}_{dead}_abcd9999").write_text("a file, not a folder")
    removed = scratch.sweep((str(tmp_path),))
    assert sorted(removed) == sorted(str(p) for p in gone)
    assert all(p.exists() for p in kept) and (tmp_path / f"agw-{ns}_{dead}_abcd9999").exists()


def test_a_reused_pid_does_not_keep_a_folder(tmp_path, monkeypatch):
    """The pid in the name now belongs to a process that started after the folder last changed: not its maker."""
    folder = _folder(tmp_path, f"agj-{scratch.pid_namespace()}_{os.getpid()}_abcd1234")
    monkeypatch.setattr(scratch, "_started_at", lambda pid: time.time() + 60)
    assert scratch.abandoned(folder)
    monkeypatch.setattr(scratch, "_started_at", lambda pid: folder.stat().st_ctime - 60)
    assert not scratch.abandoned(folder)


def test_this_process_start_time_is_read_from_proc():
    started = scratch._started_at(os.getpid())
    assert started is not None and time.time() - 3600 * 24 * 365 < started <= time.time()
    assert scratch._started_at(_dead_pid()) is None


def test_a_maker_that_exited_but_was_not_reaped_is_gone():
    """A killed worker stays a zombie until its parent reaps it: its folders are abandoned already."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.time() + 30
    while time.time() < deadline and processes(with_cmdline=False)[proc.pid].state != "Z":
        time.sleep(0.01)
    try:
        assert scratch._started_at(proc.pid) is None
    finally:
        proc.wait()
