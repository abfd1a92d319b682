#!/usr/bin/env python3
"""Run the built test binaries side by side, longest first.

    test-run.py [--jobs N] [--threads N] [--module M ...] [--terraform V]
                [--durations FILE] EXECUTABLE...

Most of a test's time is spent waiting: on moto, on Terraform, on the
provider's polls. So the unit tests and every module of the integration
binary (tests/integration.rs; one module per file of tests/) run as
separate processes, several at once, each with several test threads.

moto: a fresh server costs seconds of CPU before it answers its first
calls, so this starts one per test thread of the run (--jobs x --threads)
and the test processes share them, one test at a time per server, each
reset before use (tests/common/moto.rs, `shared`).

Order: the modules that took longest last time start first, so the run
does not end waiting on one long module started late. The times are kept
in --durations (in the build cache) after each run; the first run uses a
fixed guess.

Output: each process's own output (libtest's, with its "test result:"
line) once it ends, then one line per process with its time, then the
total as "N passed, N failed". The exit code is 1 if any test failed or a
process did not end cleanly.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Seconds per module on 2 cores with 4 test threads, for the first run.
GUESS = {
    "faults": 180, "terraform_cli": 150, "import_blocks": 90, "modules": 70,
    "terraform_test": 60, "terraform_features": 50, "reachability": 45,
    "pipeline_protocol": 40, "private_function": 40, "bundle_protocol": 35, "registry": 30,
    "permissions": 40, "identity_protocol": 25, "docs_and_examples": 20, "parts_vpc_endpoint": 20,
    "terraform_actions": 35, "action_protocol": 25,
}


def say(msg):
    print(f"test-run: {msg}", file=sys.stderr, flush=True)


def list_tests(exe):
    """The test names of a libtest binary (`--list`)."""
    out = subprocess.run([exe, "--list", "--format", "terse"], capture_output=True, text=True, check=True).stdout
    return [line[: -len(": test")] for line in out.splitlines() if line.endswith(": test")]


def shards(exes, modules, terraform):
    """(name, argv) per process: a binary whose tests sit in modules of the
    integration binary is split by its first path component; any other
    binary (the unit tests) is one process."""
    out = []
    for exe in exes:
        base = os.path.basename(exe).rsplit("-", 1)[0]
        if base != "integration":
            if not modules and not terraform:
                out.append((base, [exe]))
            continue
        by_module = {}
        for name in list_tests(exe):
            module = name.split("::", 1)[0]
            if modules and module not in modules:
                continue
            if terraform and f"terraform_{terraform.replace('.', '_')}" not in name:
                continue
            by_module.setdefault(module, []).append(name)
        unknown = set(modules or ()) - set(by_module)
        if unknown:
            raise SystemExit(f"test-run: no tests in module(s) {', '.join(sorted(unknown))}")
        for module, names in by_module.items():
            out.append((module, [exe, "--exact", *names]))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_motos(count, folder):
    """`count` moto servers as the tests start theirs (MOTO_IAM_LOAD_MANAGED_POLICIES,
    MOTO_ACCOUNT_ID, MOTO_LAMBDA_CONCURRENCY_QUOTA, Lambda without Docker; tests/common/moto.rs says why),
    logging to FOLDER/PORT.log: (ports, processes)."""
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true", MOTO_ACCOUNT_ID="123456789012",
               MOTO_LAMBDA_CONCURRENCY_QUOTA="1000", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing")
    servers = []
    for _ in range(count):
        port = free_port()
        log = open(os.path.join(folder, f"{port}.log"), "w")
        proc = subprocess.Popen([os.path.join(ROOT, ".tools/bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        servers.append((port, proc))
    ready = []
    for port, proc in servers:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=2)
                req = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/config", method="POST",
                                             data=b'{"lambda":{"use_docker":false}}',
                                             headers={"Content-Type": "application/json"})
                urllib.request.urlopen(req, timeout=10)
                ready.append(port)
                break
            except OSError:
                time.sleep(0.1)
    if len(ready) < len(servers):
        say(f"{len(servers) - len(ready)} of {len(servers)} moto servers did not start; tests start their own")
    return ready, [proc for _, proc in servers]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def summary(text):
    """(passed, failed) from libtest's "test result:" line."""
    for line in text.splitlines():
        if line.startswith("test result:"):
            words = line.replace(";", "").split()
            return int(words[words.index("passed") - 1]), int(words[words.index("failed") - 1])
    return 0, 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=3, help="processes at once")
    ap.add_argument("--threads", type=int, default=4, help="test threads per process")
    ap.add_argument("--module", action="append", help="only this module of the integration binary (repeatable)")
    ap.add_argument("--terraform", help="only the tests named for this Terraform version (...::terraform_1_15_5), e.g. 1.15.5")
    ap.add_argument("--durations", help="file keeping each module's last time")
    ap.add_argument("exes", nargs="+")
    args = ap.parse_args()

    known = load(args.durations) if args.durations else {}
    todo = shards(args.exes, args.module, args.terraform)
    todo.sort(key=lambda s: -known.get(s[0], GUESS.get(s[0], 10)))
    say(f"{len(todo)} processes, {args.jobs} at once, {args.threads} test threads each: {' '.join(n for n, _ in todo)}")

    moto_dir = tempfile.mkdtemp(prefix="test-run-moto-")
    ports, motos = start_motos(args.jobs * args.threads, moto_dir)
    env = dict(os.environ, PRIVATELINK_TEST_MOTO_PORTS=",".join(map(str, ports)), PRIVATELINK_TEST_MOTO_DIR=moto_dir)

    lock = threading.Lock()
    results = []  # (name, seconds, passed, failed, code)
    queue = list(todo)
    start = time.monotonic()

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                name, argv = queue.pop(0)
            began = time.monotonic()
            with tempfile.TemporaryFile(mode="w+") as log:
                code = subprocess.run([*argv, f"--test-threads={args.threads}"], stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env).returncode
                log.seek(0)
                text = log.read()
            took = time.monotonic() - began
            passed, failed = summary(text)
            with lock:
                print(f"\n==== {name} ({took:.0f} s, exit {code})", flush=True)
                sys.stdout.write(text)
                sys.stdout.flush()
                results.append((name, took, passed, failed, code))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, args.jobs))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for proc in motos:
            proc.kill()
            proc.wait()
        shutil.rmtree(moto_dir, ignore_errors=True)
    wall = time.monotonic() - start

    print("\nper process (seconds):", flush=True)
    for name, took, passed, failed, code in sorted(results, key=lambda r: -r[1]):
        print(f"  {took:6.1f}  {name}: {passed} passed, {failed} failed{'' if code == 0 else f', exit {code}'}")
    print(f"all processes: {wall:.0f} s wall")
    if args.durations and not args.module and not args.terraform:
        known.update({name: round(took, 1) for name, took, *_ in results})
        with open(args.durations, "w") as f:
            json.dump(known, f, indent=1, sort_keys=True)
    passed = sum(r[2] for r in results)
    failed = sum(r[3] for r in results)
    broken = [r[0] for r in results if r[4] != 0 and r[3] == 0]
    if broken:
        print(f"processes that ended without a test failure but exit != 0: {', '.join(broken)}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or broken else 0)


if __name__ == "__main__":
    main()
