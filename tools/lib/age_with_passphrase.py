#!/usr/bin/env python3
"""Runs Debian's `age` with a passphrase typed for it: age reads passphrases only from a terminal,
so it runs under a pseudo-terminal here and every prompt that asks for a passphrase is answered
with the first line of PASSFILE (never on a command line). For the tests of Kura's age files.

    age_with_passphrase.py PASSFILE AGE-ARGUMENTS...     exit status: age's
"""
import os
import pty
import sys
import time


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as file:
        passphrase = file.read().split(b"\n")[0]
    pid, terminal = pty.fork()
    if pid == 0:
        os.execvp("age", ["age"] + sys.argv[2:])
    said, answered = b"", 0
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            data = os.read(terminal, 4096)
        except OSError:  # the child closed the terminal: it has ended
            break
        if not data:
            break
        said += data
        while answered < said.count(b"Enter passphrase") + said.count(b"Confirm passphrase"):
            try:
                os.write(terminal, passphrase + b"\n")
            except OSError:
                break
            answered += 1
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(said.decode(errors="replace"))
    return code


if __name__ == "__main__":
    sys.exit(main())
