#!/usr/bin/env python3
"""Reads the output of one `cargo test` run over every test binary and prints a summary line per
suite and backend, from cargo's own lines: `Running …` names the binary, `test NAME ... ok` each
case. Cases whose name holds "postgres" are PostgreSQL's, the other integration cases SQLite's.

    test-counts.py CARGO_LOG [POSTGRES_LIST]

POSTGRES_LIST, when given, is `cargo test -- postgres --list` output for a run without
PostgreSQL: those cases are reported as skipped, not run. The last line is `N M K` (passed,
failed, skipped) for the caller to add up.
"""

import re
import sys

# Integration test binaries (server/tests/*.rs) and what they test.
SUITES = {
    "store_contract": "store contract",
    "rest_catalog": "REST catalog",
    "rest_access": "REST access",
    "rest_deployments": "REST deployments",
    "hardening": "hardening: hostile input and clients",
    "pipelines": "pipelines: names, createVersion, Idempotency-Key",
    "hooks": "hooks: signed GitHub and GitLab deliveries",
    "audit": "audit trail: every change and security event, one transaction, append-only",
    "insights": "delivery insights on a known history",
    "policy": "deploy policy: freezes across DST, locks, promotion, the check, recording through a freeze",
    "changes": "what changed: commits from a real git repository, between versions, environments, deployments",
    "ownership": "teams, saved views and status badges (rendered by rsvg-convert)",
    "drift": "drift policies, breaches from hand-built histories, events once across instances and kill -9, digests at local time",
    "import": "Backstage catalogue import: its own example files, dry run, all-or-nothing, hostile files",
    "oidc": "OpenID Connect: CI ID tokens recording from a local issuer, sign-in refusals and key rotation",
    "webhooks": "webhooks: signed, retried, once across instances, after kill -9",
    "cli": "deploytrack record / current against the server",
    "instances": "live updates across instances (LISTEN/NOTIFY)",
    "delivery": "what the browser receives: compression, caching, asset paths",
    "matrix_exactness": "kept matrix, pages and time travel equal the history (randomized)",
    "log_hygiene": "log hygiene: no secret in any log",
    "demo": "demo data and bulk seed",
    "process": "the process (no transparent huge pages)",
    "durability": "kill -9 durability of acknowledged writes",
}
UNIT = {"app", "server", "deploytrack"}

RUNNING = re.compile(r"^\s*Running (unittests )?(\S+) \(.*/deps/([A-Za-z0-9_]+)-[0-9a-f]+\)")
CASE = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)")
LISTED = re.compile(r"^(\S+): test$")
FINISHED = re.compile(r"^test result: .* finished in ([0-9.]+)s")


def suite_of(binary, case):
    if binary in UNIT:
        return ("unit tests (app + server)", "")
    backend = "postgres" if "postgres" in case else "sqlite"
    return (SUITES.get(binary, binary), backend)


def main():
    counts = {}  # (suite, backend) -> [passed, failed, skipped, not_run]
    seconds = {}  # suite -> seconds
    order = []

    def bucket(key):
        if key not in counts:
            counts[key] = [0, 0, 0, 0]
            order.append(key)
        return counts[key]

    def binary_lines(path):
        """Yields (binary, line) for each line after a `Running …` line names its binary."""
        binary = None
        for line in open(path, errors="replace"):
            m = RUNNING.match(line)
            if m:
                binary = m[3]
            elif binary:
                yield binary, line

    for binary, line in binary_lines(sys.argv[1]):
        m = CASE.match(line)
        if m:
            index = {"ok": 0, "FAILED": 1, "ignored": 2}[m[2]]
            bucket(suite_of(binary, m[1]))[index] += 1
        m = FINISHED.match(line)
        if m:
            suite = suite_of(binary, "")[0]
            seconds[suite] = seconds.get(suite, 0.0) + float(m[1])

    if len(sys.argv) > 2:
        for binary, line in binary_lines(sys.argv[2]):
            m = LISTED.match(line)
            if m:
                bucket(suite_of(binary, m[1]))[3] += 1

    first_seen = {}
    for key in order:
        first_seen.setdefault(key[0], len(first_seen))
    order.sort(key=lambda k: (first_seen[k[0]], k[1] != "sqlite"))
    total = [0, 0, 0]
    for key in order:
        passed, failed, skipped, not_run = counts[key]
        suite, backend = key
        status = "FAIL" if failed else "PASS" if passed else "SKIP"
        label = f"{suite} [{backend}]" if backend else suite
        detail = f"{passed} passed, {failed} failed, {skipped + not_run} skipped"
        if not_run:
            detail += f" ({not_run} not run: no PostgreSQL)"
        print(f"{status:4}  {label}: {detail} (its binary ran {seconds.get(suite, 0):.0f}s)"
              if backend else f"{status:4}  {label}: {detail}")
        total[0] += passed
        total[1] += failed
        total[2] += skipped + not_run
    print(*total)


main()
