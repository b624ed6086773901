"""Knowledge-graph completion: TuckER and its mixed-geometry extension MIGTF.

Samples are triples ``(head, relation, tail)``. torch is imported when a model is fitted,
not when this package is imported.
"""

from ._migtf import MIGTF
from ._tucker import TuckER

__all__ = ["MIGTF", "TuckER"]
