"""The frozen ReceiptDesk's entry point (PyInstaller's script): the `receiptdesk` command line.

A frozen program has no Python to run `python -m MODULE`, yet the headless demo starts its
sandbox and simulated POS as child processes that way (`sys.executable -m app ...`). So the frozen
binary answers `-m app` and `-m app.<module>` itself, and only those: it is no general interpreter.
"""

from __future__ import annotations

import runpy
import sys


def main() -> int:
    argv = sys.argv
    if len(argv) > 2 and argv[1] == "-m" and (argv[2] == "app" or argv[2].startswith("app.")):
        module = argv[2]
        sys.argv = [argv[0], *argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    from app.cli import main as cli

    return cli()


if __name__ == "__main__":
    raise SystemExit(main())
