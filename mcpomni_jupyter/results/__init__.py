"""What every call returns: values with a text and an HTML rendering (results, tables, content).

Below the core in the layers: the Python API returns these, the magics
return them, and they import nothing of ``core``, ``auth``, ``magics`` or ``ui``.
"""

from mcpomni_jupyter.results.results import CallResult, PromptResult, ReadResult, to_json
from mcpomni_jupyter.results.tables import (
    LogList,
    PromptInfo,
    PromptList,
    ResourceInfo,
    ResourceList,
    StatusRow,
    StatusTable,
    Table,
    TemplateInfo,
    TemplateList,
    ToolInfo,
    ToolList,
)

__all__ = [
    "CallResult",
    "LogList",
    "PromptInfo",
    "PromptList",
    "PromptResult",
    "ReadResult",
    "ResourceInfo",
    "ResourceList",
    "StatusRow",
    "StatusTable",
    "Table",
    "TemplateInfo",
    "TemplateList",
    "ToolInfo",
    "ToolList",
    "to_json",
]
