""""Back up now" from the admin: the backup runs in a background thread of the web process; its
state is a small JSON file beside the repository, so any worker can show it. A "running" state
whose process (same host) is gone reads as interrupted, so a worker restart mid-backup does not
leave the page saying "running" forever."""
import json
import os
import socket
import tempfile
import threading
import time

from django.utils.translation import gettext as _

from . import operations
from .runner import Kura, KuraError

_lock = threading.Lock()
_thread = None


def state_path(conf):
    """Beside a local repository; for a remote one, in the export folder (this machine's; made
    owner-only if it does not exist yet)."""
    if not conf.remote:
        return os.path.join(os.path.dirname(os.path.abspath(conf.repository)), ".kura-django-job.json")
    os.makedirs(conf.export_dir, mode=0o700, exist_ok=True)
    return os.path.join(conf.export_dir, ".kura-django-job.json")


def read(conf):
    try:
        with open(state_path(conf)) as file:
            state = json.load(file)
    except (OSError, ValueError):
        return {"state": "idle"}
    if state.get("state") == "running" and state.get("host") == socket.gethostname() and not _alive(state.get("pid")):
        return {"state": "done", "ok": False, "started": state.get("started"), "finished": None,
                "line": _("Interrupted: the web process running the backup stopped. "
                          "The repository is intact (Kura survives a killed backup); start it again.")}
    return state


def _alive(pid):
    """Whether process `pid` exists (this process counts only while its backup thread runs)."""
    if not isinstance(pid, int):
        return True  # a state written before pids were recorded: cannot tell
    if pid == os.getpid():
        return _thread is not None and _thread.is_alive()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write(conf, state):
    path = state_path(conf)
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".kura-job-")
    with os.fdopen(fd, "w") as file:
        json.dump(state, file)
    os.replace(temporary, path)


def start(kura=None):
    """Starts a backup unless one is running; returns False when one is."""
    global _thread
    kura = kura or Kura()
    with _lock:
        if _thread is not None and _thread.is_alive():
            return False
        started = time.time()
        owner = {"pid": os.getpid(), "host": socket.gethostname()}
        _write(kura.conf, {"state": "running", "step": "", "started": started, **owner})

        def run():
            def step(name):
                _write(kura.conf, {"state": "running", "step": name, "started": started, **owner})
            try:
                result = operations.backup(kura, step=step)
                _write(kura.conf, {"state": "done", "ok": True, "line": result["line"], "started": started,
                                   "finished": time.time()})
            except KuraError as error:
                _write(kura.conf, {"state": "done", "ok": False, "line": error.message, "started": started,
                                   "finished": time.time()})
            except Exception as error:  # the page must show any failure, not a stuck "running"
                _write(kura.conf, {"state": "done", "ok": False, "line": str(error), "started": started,
                                   "finished": time.time()})

        _thread = threading.Thread(target=run, name="kura-backup", daemon=True)
        _thread.start()
        return True


def wait(timeout=120):
    """For tests and shutdown: waits for the running backup, if any."""
    if _thread is not None:
        _thread.join(timeout)
