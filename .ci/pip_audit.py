"""pip-audit on the installed dependencies, for .ci/run.

Runs ``pip-audit --skip-editable`` (the project itself is not a published
package; everything else in the environment is audited) against PyPI's
vulnerability data, and reads its JSON report. Exit status:

- 1: a dependency has a known vulnerability, or pip-audit failed in any way
  not listed below.
- 0 with a summary: every dependency was audited and none is known vulnerable.
- 0 with a WARNING: the vulnerability data could not be reached. Either a
  connection error (no route, DNS, proxy, TLS, timeout), or PyPI answered
  "not found" for dependencies that are published there: the per-release JSON
  API (``https://pypi.org/pypi/<name>/<version>/json``) is missing behind some
  mirrors and proxies. Those dependencies were NOT audited, and the warning
  names them. This is the one case CI tolerates, and never silently.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: Text in pip-audit's error output that means "could not reach the service".
CONNECTIVITY = (
    "ConnectionError",
    "ProxyError",
    "SSLError",
    "ConnectTimeout",
    "ReadTimeout",
    "Max retries exceeded",
    "NameResolutionError",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
)
NOT_FOUND = "Dependency not found on PyPI"


def warn(message: str) -> None:
    """A warning CI logs show: on stderr, marked, and impossible to mistake for success."""
    print(f"WARNING: {message}", file=sys.stderr)


def run_pip_audit() -> tuple[int, str, dict[str, Any] | None]:
    """Run pip-audit with a JSON report; return its exit code, stderr and report (if any)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        command = [
            sys.executable,
            "-m",
            "pip_audit",
            "--skip-editable",
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(report),
        ]
        # S603: our own interpreter running pip-audit with fixed arguments.
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        text = report.read_text(encoding="utf-8") if report.exists() else ""
    data = json.loads(text) if text.strip() else None
    return done.returncode, done.stderr, data


def main() -> int:
    """Audit, print what was found, and return the exit status described above."""
    code, stderr, data = run_pip_audit()
    if data is None:
        if any(sign in stderr for sign in CONNECTIVITY):
            last = stderr.strip().splitlines()[-1] if stderr.strip() else "no detail"
            warn(
                "pip-audit could not reach PyPI's vulnerability data; the dependencies "
                f"were NOT audited.\n  {last}"
            )
            return 0
        sys.stderr.write(stderr.rstrip("\n") + "\n")
        print(f"pip-audit failed (exit code {code})", file=sys.stderr)
        return 1
    dependencies: list[dict[str, Any]] = data.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
            print(f"{dep['name']} {dep.get('version', '?')}: {vuln['id']} (fixed in {fixed})")
    if vulnerable:
        print(f"pip-audit: {len(vulnerable)} vulnerable dependencies", file=sys.stderr)
        return 1
    if code != 0:
        sys.stderr.write(stderr.rstrip("\n") + "\n")
        print(
            f"pip-audit failed (exit code {code}) without naming a vulnerability", file=sys.stderr
        )
        return 1
    not_found = sorted(d["name"] for d in dependencies if NOT_FOUND in d.get("skip_reason", ""))
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not_found:
        scope = "any" if not audited else f"{len(not_found)} of the"
        warn(
            f"pip-audit could not audit {scope} {len(dependencies)} dependencies: PyPI "
            "answered 'not found' for their releases (a mirror or proxy without the "
            "per-release JSON API, or packages not published on PyPI). Their "
            f"vulnerabilities are unknown: {', '.join(not_found)}"
        )
    if audited:
        print(f"pip-audit: {len(audited)} dependencies audited, no known vulnerabilities")
    else:
        print("pip-audit: nothing could be audited (see the warning above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
