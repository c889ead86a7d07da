"""par_review: reproducible annual review of administrative reform (CCHC / PAR index).

Data flows one way: data/raw (immutable) -> clean -> data/processed -> validation gate
-> metrics -> report -> reports/. Notebooks in notebooks/ narrate; the logic lives here.
"""

__version__ = "0.1.0"
