"""The process Toil starts for a job when its workers come from the zygote (see ``zygote``).

    python -S -I zygote_client.py SOCKET _toil_worker JOBNAME JOBSTORE JOBID [--context ...]

It hands the zygote its arguments, environment, working directory, standard streams and one end
of a lifeline pipe, then waits: it relays SIGTERM/SIGINT to the worker and exits with the
worker's status. If the zygote cannot fork (gone, refused), it runs the real ``_toil_worker``.
Standard library only, no site packages: it starts in milliseconds.
"""

import contextlib
import json
import os
import signal
import socket
import sys


def main(argv: list[str]) -> int:
    path, command = argv[0], argv[1:]
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(path)
    except OSError:
        return run_itself(command)
    life_r, life_w = os.pipe()  # the worker reads life_r; this process holds life_w until it dies
    request = {"argv": command, "env": dict(os.environ), "cwd": os.getcwd()}
    socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2, life_r])
    os.close(life_r)
    reader = conn.makefile("r")
    first = reader.readline().split()
    if not first or first[0] != "pid":
        conn.close()
        os.close(life_w)
        return run_itself(command)
    pid = int(first[1])

    def relay(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            os.killpg(pid, signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, relay)
    line = reader.readline().split()
    os.close(life_w)
    if len(line) == 2 and line[0] == "exit":
        code = int(line[1])
        return code if code >= 0 else 128 - code
    return 1  # the zygote went away: the worker's lifeline ended with it


def run_itself(command: list[str]) -> int:
    """No zygote: the worker as Toil would have started it."""
    exe = os.path.join(os.path.dirname(sys.executable), command[0])
    os.execv(exe if os.path.exists(exe) else command[0], command)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
