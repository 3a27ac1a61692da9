"""`make audit`: pip-audit over the lock files, with a plain answer when it could not audit.

pip-audit says "No known vulnerabilities found" and exits 0 even when the vulnerability service
did not know a single package (an index or mirror without vulnerability data), and prints a
traceback when the service cannot be reached at all. Both mean "not audited": this script says so
clearly and exits 2. Found vulnerabilities exit 1; a clean audit exits 0.

Usage: python scripts/audit_locks.py LOCK [LOCK ...]   (PIP_AUDIT_SERVICE=osv|pypi, default pypi)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

NOT_REACHED = 2
VULNERABLE = 1


def audit(lock: str, service: str) -> int:
    command = [sys.executable, "-m", "pip_audit", "--requirement", lock, "--require-hashes", "--disable-pip",
               "--format", "json", "--progress-spinner", "off", "--vulnerability-service", service]
    result = subprocess.run(command, capture_output=True, text=True)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"{lock}: the vulnerability index ({service}) could not be reached, nothing was audited.\n"
              f"  pip-audit said: {last[:300]}", file=sys.stderr)
        return NOT_REACHED
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if d.get("skip_reason")]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
            print(f"{lock}: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    if skipped:
        print(f"{lock}: the vulnerability index ({service}) could not be reached for {len(skipped)} of "
              f"{len(dependencies)} packages, so they were NOT audited (e.g. {skipped[0]['skip_reason']}).",
              file=sys.stderr)
        return NOT_REACHED
    if vulnerable:
        return VULNERABLE
    print(f"{lock}: no known vulnerabilities in {len(dependencies)} packages ({service}).")
    return 0


def main(locks: list[str]) -> int:
    if not locks:
        print(__doc__, file=sys.stderr)
        return 64
    service = os.environ.get("PIP_AUDIT_SERVICE", "pypi")
    return max(audit(lock, service) for lock in locks)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
