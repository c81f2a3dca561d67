"""MCP Apps on the kernel's side: which tools have an app, its HTML and CSP, an app's requests."""
