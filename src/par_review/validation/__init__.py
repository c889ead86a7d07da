"""Internals of the validation gate (Great Expectations 1.x).

- `suites`: builds the expectation suites, validation definitions, checkpoints and
  great_expectations.yml of the file-backed GX project in `validation/gx/` from the province
  configuration, and the run-time expectation parameters and validation views.
- `datadocs`: builds a year's Data Docs and makes them work offline.

The public entry points (validate_year, gate, ValidationReport, ValidationFailed) live in
`par_review.validate`.
"""
