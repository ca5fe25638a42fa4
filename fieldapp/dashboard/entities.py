"""Every entity of the program as an exportable dataset, by its stable name.

The dashboard offers them in this order, on screen (paged) and as CSV or XLSX (:mod:`.exports`):
first those of :mod:`.family_datasets`, then those of :mod:`.fieldwork_datasets`, then
:mod:`.grievance_datasets` and :mod:`.media_datasets`. The lists,
which page and export the same way, are in :mod:`.lists`.
"""

from __future__ import annotations

from fieldapp.dashboard import (
    family_datasets,
    fieldwork_datasets,
    grievance_datasets,
    media_datasets,
)
from fieldapp.dashboard.datasets import Dataset

ENTITIES: dict[str, Dataset] = {
    d.name: d for d in (*family_datasets.DATASETS, *fieldwork_datasets.DATASETS,
                        *grievance_datasets.DATASETS, *media_datasets.DATASETS)
}
