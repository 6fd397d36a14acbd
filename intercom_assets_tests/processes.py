"""Child processes the tests start: stopped, and never left behind."""

import subprocess


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, which the project's servers must obey within 30 s; killed if they do not (the
    test then fails), so no server outlives its test."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
