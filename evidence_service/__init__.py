"""Evidence custody and sharing service.

Layers (see ARCHITECTURE.md): ``domain`` (pure values and rules), ``ports`` (interfaces the
services need), ``services`` (one use case per module), ``adapters`` (database, object storage)
and ``api``/``cli`` (the composition roots that wire adapters into services).
"""

__version__ = "0.1.0"
