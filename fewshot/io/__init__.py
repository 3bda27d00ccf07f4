"""Reading and writing example files (JSONL, CSV, Parquet) and mapping their fields."""

from ._annotation_export import (
    GOLD_FIELDS,
    argilla_settings,
    labelstudio_config,
    to_argilla_record,
    to_labelstudio_task,
)
from ._annotation_formats import LABEL_FORMATS, LabelRecord, read_labels
from ._mapping import FieldMapping, MappedRecord
from ._readers import READ_FORMATS, detect_format, iter_records
from ._writers import WRITE_FORMATS, write_format_for, write_json_atomic, write_records

__all__ = [
    "GOLD_FIELDS",
    "LABEL_FORMATS",
    "argilla_settings",
    "labelstudio_config",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "write_format_for",
    "LabelRecord",
    "read_labels",
    "to_argilla_record",
    "to_labelstudio_task",
    "FieldMapping",
    "MappedRecord",
    "detect_format",
    "iter_records",
    "write_json_atomic",
    "write_records",
]
