"""Agents: the connected servers' tools for models (search, toolsets, approval)."""
