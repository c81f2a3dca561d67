"""The engine: the loop thread, connections and their owner tasks, the registry, the Python API.

Below ``magics`` and ``ui`` in the layers (an import-linter contract says so):
the core never imports them; they reach it through its public API and hooks.
"""
