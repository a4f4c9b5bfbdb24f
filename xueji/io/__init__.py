"""Loading and validation of the contract's input tables."""

from xueji.io.load import ROW, Inputs, SourceInfo, empty_data_errors, format_data_error, load_inputs
from xueji.io.schema import FieldSchema, TableSchema, load_schemas

__all__ = [
    "ROW",
    "FieldSchema",
    "Inputs",
    "SourceInfo",
    "TableSchema",
    "empty_data_errors",
    "format_data_error",
    "load_inputs",
    "load_schemas",
]
