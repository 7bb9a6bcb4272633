"""Runs end-to-end test modules with unittest, verbosely, for ctest.

    python3 run.py MODULE [MODULE...]

Exit status: 0 when every test passed, 1 when one failed or errored, 77 when every test was
skipped (ctest's SKIP_RETURN_CODE: the run shows as "Not Run (Skipped)" with the reason printed,
never as a silent pass).
"""

import sys
import unittest

SKIP_STATUS = 77


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    suite = unittest.defaultTestLoader.loadTestsFromNames(argv[1:])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    sys.stdout.flush()
    if not result.wasSuccessful():
        return 1
    if result.testsRun == 0 or len(result.skipped) == result.testsRun:
        reasons = sorted({reason for _, reason in result.skipped})
        print("every test was skipped: " + "; ".join(reasons or ["no tests ran"]))
        return SKIP_STATUS
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
