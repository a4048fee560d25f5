"""Reads one schemathesis run's console log and prints `cases server_errors failures errors`.

Usage: fuzz_api_report.py LOG EXIT_CODE SERVER_5XX

cases: test cases generated; server_errors: ST101/ST102 failures plus the 5xx the server logged
during the run; failures: every failed check (ST1xx response violations, ST2xx input handling,
ST3xx stateful); errors: schema or network errors schemathesis reports (its "N errors").
"""

import re
import sys


def main() -> int:
    log = open(sys.argv[1], encoding="utf-8", errors="replace").read()
    server_5xx = int(sys.argv[3])
    cases = re.search(r"Test cases:\s*\n\s*(\d+) generated", log)
    failed = {code: int(n) for code, n in re.findall(r"❌ (ST\d+) [^:\n]+: (\d+)", log)}
    server = failed.get("ST101", 0) + failed.get("ST102", 0) + server_5xx
    final = log.strip().splitlines()[-1] if log.strip() else ""
    errors = re.search(r"(\d+) errors?\b", final)
    print(
        cases.group(1) if cases else 0,
        server,
        sum(failed.values()),
        errors.group(1) if errors else 0,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
