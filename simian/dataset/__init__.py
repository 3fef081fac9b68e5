"""The dataset: layout, sidecars and metadata rows, the local folder sink and the index files."""

from simian.dataset.index import CARD, METADATA, card_files, dataset_card, dump_metadata, finalise_local, merge_metadata
from simian.dataset.layout import DATASET, FLAT, ROW_KEYS, Layout, build_row, media_suffix, row_from_sidecar
from simian.dataset.local import FolderSink, Published

__all__ = [
    "CARD",
    "DATASET",
    "FLAT",
    "METADATA",
    "ROW_KEYS",
    "FolderSink",
    "Layout",
    "Published",
    "build_row",
    "card_files",
    "dataset_card",
    "dump_metadata",
    "finalise_local",
    "media_suffix",
    "merge_metadata",
    "row_from_sidecar",
]
