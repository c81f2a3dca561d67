"""The connected servers' tools for models: names and schemas for providers, the approval policy, model calls, tool search."""
