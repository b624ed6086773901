"""Feature selection by maximal volume: the maxvol kernels.

:func:`maxvol` selects ``r`` rows of a tall ``n x r`` matrix whose submatrix has a locally
maximal volume; :func:`rect_maxvol` selects ``r`` or more, ranked in the order they are added.
Applied to factors of a data matrix (for example the leading right singular vectors of a
user x feature matrix), the selected rows are the most representative features.

The selectors rank features that way (:class:`MaxVolSelector` from the data alone,
:class:`CollaborativeMaxVolSelector` from how the features explain user behaviour) and keep
a budget of them; :class:`RandomSelector` and :class:`FeatureFrequencySelector` are the
baselines they are compared with. :class:`ItemQuestionnaire` applies the same selection to
the items of a collaborative model: the items to ask a new user about (rating elicitation).
"""

from ._baselines import FeatureFrequencySelector, RandomSelector
from ._maxvol import maxvol, rect_maxvol
from ._maxvol_selector import CollaborativeMaxVolSelector, MaxVolSelector
from ._questionnaire import ItemQuestionnaire

__all__ = [
    "CollaborativeMaxVolSelector",
    "FeatureFrequencySelector",
    "ItemQuestionnaire",
    "MaxVolSelector",
    "RandomSelector",
    "maxvol",
    "rect_maxvol",
]
