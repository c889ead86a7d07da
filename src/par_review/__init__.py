"""par_review: reproducible annual review of administrative reform (CCHC / PAR index).

Data flows one way, one subpackage per layer (docs/architecture.md):
data/raw (immutable) -> rawdata -> clean -> data/processed -> validation (the gate)
-> metrics -> report -> reports/, run by pipeline (the declared step table) and checked
afterwards by audit. Notebooks in notebooks/ narrate; the logic lives here.

Importing the package changes nothing global (no backend switch, no import shims): the
build applies its speed-ups inside its own kernels (pipeline/kernels.py).
"""

__version__ = "0.1.0"
