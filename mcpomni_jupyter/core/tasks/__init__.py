"""MCP Tasks: task-augmented tool calls in both protocol eras, background jobs, the task list."""
