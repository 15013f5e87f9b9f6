"""Runs one integration test module for ctest: `python3 -m harness.run test_foo`.

Like `python3 -m unittest -v test_foo`, but a module whose tests were all skipped (no Docker
daemon, no jupyterhub-singleuser, ...) exits with 77, ctest's SKIP_RETURN_CODE, so the summary
says "skipped" with the reason in the output instead of "Passed".
"""
import sys
import unittest

from harness import sanitizer


def main():
    name = sys.argv[1]
    reports = sanitizer.collect_reports()
    suite = unittest.defaultTestLoader.loadTestsFromName(name)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    found = reports.finish()
    if found:
        print(f"FAILED: {len(found)} sanitizer report(s) from processes this module started:",
              file=sys.stderr)
        for path, text in found:
            print(f"--- {path}\n{text}", file=sys.stderr)
        return 1
    if not result.wasSuccessful():
        return 1
    if result.skipped and len(result.skipped) >= result.testsRun:
        for test, reason in result.skipped:
            print(f"SKIPPED {test}: {reason}", file=sys.stderr)
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
