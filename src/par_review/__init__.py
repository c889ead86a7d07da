"""par_review: reproducible annual review of administrative reform (CCHC / PAR index).

Data flows one way: data/raw (immutable) -> clean -> data/processed -> validation gate
-> metrics -> report -> reports/. Notebooks in notebooks/ narrate; the logic lives here.
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"

# Start-up cost, measured with `python -X importtime`: jsonschema (imported by nbformat,
# papermill and Great Expectations) loads the optional `rfc3987_syntax` package for its
# "iri" format checker, and that package compiles a Lark grammar at import time: about
# 3.3 s in every process, a third of `import great_expectations`. Nothing in this project
# validates IRIs, and jsonschema treats the package as optional (ImportError -> no "iri"
# checker), so we mark it absent. Set PAR_REVIEW_KEEP_RFC3987=1 to keep it.
if _os.environ.get("PAR_REVIEW_KEEP_RFC3987") != "1" and "jsonschema" not in _sys.modules:
    _sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
