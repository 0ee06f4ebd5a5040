# gunicorn configuration for a prometheus_client app (Django, NetBox,
# Nautobot, Flask, ...) whose metrics promdir-collector serves.
#
#   PROMETHEUS_MULTIPROC_DIR=/run/promdir/app gunicorn -c gunicorn.conf.py app.wsgi
#
# promdir needs no hook at all: promdir-collector leaves a dead worker's
# live* gauges out of the view by itself (and prunes their files). These
# hooks are for those who want the directory tidy at once, or run an older
# collector (Python's MultiProcessCollector) beside promdir:
#   on_starting  wipes the directory before the first worker starts (the
#                prometheus_client documentation asks for an empty directory
#                at start); set PROMDIR_WIPE_AT_START=0 to keep old files.
#   child_exit   runs `promdir mark-dead <pid>`, which deletes the dead
#                worker's gauge_live*_<pid>.db files, exactly what
#                prometheus_client.multiprocess.mark_process_dead(pid) does.
# The promdir binary is $PROMDIR_BIN, else `promdir` on PATH; without it the
# hooks fall back to prometheus_client's own functions.

import os
import shutil
import subprocess

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
# Recycling workers is what makes files pile up; promdir's compaction keeps
# the directory small however often this happens.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "50"))
# Metrics objects must be created in the workers, not inherited from a
# preloaded master.
preload_app = False

_PROMDIR = os.environ.get("PROMDIR_BIN") or shutil.which("promdir")


def _multiproc_dir():
    return (os.environ.get("PROMETHEUS_MULTIPROC_DIR")
            or os.environ.get("prometheus_multiproc_dir"))


def on_starting(server):
    d = _multiproc_dir()
    if not d:
        server.log.warning("PROMETHEUS_MULTIPROC_DIR is not set: metrics are per worker")
        return
    os.makedirs(d, exist_ok=True)
    if os.environ.get("PROMDIR_WIPE_AT_START", "1") != "1":
        return
    if _PROMDIR:
        # Refuses (and names them) if live promdir writers hold files.
        r = subprocess.run([_PROMDIR, "wipe", "--dir", d],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            server.log.warning("promdir wipe %s: %s", d, r.stderr.strip())
    else:
        for name in os.listdir(d):
            if name.endswith(".db"):
                os.unlink(os.path.join(d, name))


def child_exit(server, worker):
    d = _multiproc_dir()
    if not d:
        return
    if _PROMDIR:
        r = subprocess.run([_PROMDIR, "mark-dead", "--dir", d, str(worker.pid)],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            server.log.warning("promdir mark-dead %d: %s", worker.pid, r.stderr.strip())
    else:
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid, d)
