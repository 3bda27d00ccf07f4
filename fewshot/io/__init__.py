"""Reading and writing example files (JSONL, CSV, Parquet) and mapping their fields."""

from ._mapping import FieldMapping, MappedRecord
from ._readers import detect_format, iter_records
from ._writers import write_records

__all__ = ["FieldMapping", "MappedRecord", "detect_format", "iter_records", "write_records"]
