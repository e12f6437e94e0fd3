#!/usr/bin/env python3
"""Validates an OSCAL assessment-results document (as `review-ledger check
--format oscal` writes it) with compliance-trestle's OSCAL 1.1 models, a
maintained implementation of the OSCAL schema: every field, type, pattern
and required property, and no property the schema does not define.

    python3 tools/oscal_validate.py results.json

Prints "valid" and exits 0, or names the problems and exits 1.
"""

import json
import sys

from trestle.oscal import OSCAL_VERSION
from trestle.oscal.assessment_results import AssessmentResults


def main():
    with open(sys.argv[1]) as f:
        document = json.load(f)
    body = document["assessment-results"]
    try:
        validate = getattr(AssessmentResults, "model_validate", None) or AssessmentResults.parse_obj
        validate(body)
    except Exception as e:  # pydantic's ValidationError, whichever version
        print(f"not valid OSCAL {OSCAL_VERSION} assessment-results:\n{e}")
        return 1
    print(f"valid (OSCAL {OSCAL_VERSION} models of compliance-trestle)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
