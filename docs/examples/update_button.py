#!/usr/bin/env python3
"""An app's own "check for updates" button, driving the launcher.

Only the Python standard library. The launcher sets TUFUP_LAUNCHER when it
starts the app; run this file outside the app with the launcher's path as
the first argument instead:

    python3 update_button.py /opt/myapp/launcher

It asks whether an update is available (launcher --check --json), shows the
release notes, installs the update with a progress line (launcher
--update-only --json), and restarts into the new version: it starts the
launcher again and exits. See docs/launcher-cli.md.
"""

import json
import os
import subprocess
import sys


def check(launcher):
    """Returns the --check --json object; raises on failure."""
    out = subprocess.run([launcher, "--check", "--json"], capture_output=True, text=True)
    result = json.loads(out.stdout)
    if out.returncode != 0:
        raise RuntimeError(result.get("error") or out.stderr.strip())
    return result


def update(launcher, on_progress):
    """Installs the update, calling on_progress(event) per JSON line; returns
    the result line."""
    proc = subprocess.Popen([launcher, "--update-only", "--json"],
                            stdout=subprocess.PIPE, text=True)
    result = None
    for line in proc.stdout:
        msg = json.loads(line)
        if "result" in msg:
            result = msg  # the last line
        else:
            on_progress(msg)
    proc.wait()
    if result is None:
        raise RuntimeError("the launcher exited %d without a result" % proc.returncode)
    if result["result"] == "failed":
        raise RuntimeError(result["error"])
    return result


def restart(launcher, args):
    """Starts the app again through the launcher, which starts the new
    version, then ends this process."""
    flags = {}
    if os.name == "nt":
        flags["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        flags["start_new_session"] = True
    subprocess.Popen([launcher] + args, close_fds=True, **flags)
    sys.exit(0)


def show_progress(event):
    phase = event["phase"]
    if phase == "download" and event["total"]:
        percent = 100 * event["done"] // event["total"]
        print("downloading %s: %d%% (%d of %d bytes)" % (event["to"], percent, event["done"], event["total"]), flush=True)
    else:
        print(phase, flush=True)


def main():
    launcher, args = os.environ.get("TUFUP_LAUNCHER"), sys.argv[1:]
    if not launcher:
        launcher, args = sys.argv[1], sys.argv[2:]
    found = check(launcher)
    if not found["update_available"]:
        print("up to date:", found["current"])
        return
    print("update available: %s (%d bytes)" % (found["version"], found["download_bytes"]))
    print("release notes:", json.dumps(found.get("user_meta")))
    result = update(launcher, show_progress)
    print("updated from %s to %s; restarting" % (result["from"], result["version"]), flush=True)
    restart(launcher, args)


if __name__ == "__main__":
    main()
