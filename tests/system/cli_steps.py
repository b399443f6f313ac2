"""`python -m tests.system.cli_steps`: `receiptdesk` command lines run one after another in this one
process, as `python -m app` runs each, for system tests that run many short commands on one data folder.

Starting the interpreter and importing ReceiptDesk is most of what a short command costs; here it is
paid once per test instead of once per command. Each command still goes through `app.cli.main`, with
its own standard input, output and error, and its exit status as `python -m app` would give it (a
`SystemExit` as the interpreter turns it into a status, an escaped exception as a traceback and 1).
The environment is the process's own, the same for every command: a test that runs commands under
different environments starts one process per environment.

Standard input takes one JSON object per line, `{"args": [...], "stdin": "..."}`; standard output
answers each with one JSON line, `{"returncode": N, "stdout": "...", "stderr": "..."}`.
"""

from __future__ import annotations

import io
import json
import sys
import traceback


def _status(code: object, stderr: io.StringIO) -> int:
    """The exit status the interpreter gives `SystemExit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return int(code)
    print(code, file=stderr)
    return 1


def main() -> None:
    control_in, control_out, real_err = sys.stdin, sys.stdout, sys.stderr
    from app.cli import main as receiptdesk

    for line in control_in:
        step = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(step.get("stdin") or ""), out, err
        try:
            code = _status(receiptdesk(step["args"]), err)
        except SystemExit as exit_:
            code = _status(exit_.code, err)
        except BaseException:  # what the interpreter would print for an exception that ends `python -m app`
            traceback.print_exc(file=err)
            code = 1
        finally:
            sys.stdin, sys.stdout, sys.stderr = control_in, control_out, real_err
        control_out.write(json.dumps({"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
        control_out.flush()


if __name__ == "__main__":
    main()
