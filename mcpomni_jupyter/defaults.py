"""Default settings, in one place (the standard library only: ``%load_ext`` imports this)."""

CONNECT_TIMEOUT = 30.0  # a server's "timeout": connecting, and each of its HTTP requests
REQUEST_TIMEOUT = 60.0  # a tool call, read or prompt (MCPMagics.timeout, --timeout)
SSE_READ_TIMEOUT = 300.0  # how long an SSE stream may stay silent
AUTH_TIMEOUT = 600.0  # how long an authorization may wait for a person
TOKEN_DIR = "~/.mcpomni_jupyter/tokens"  # where OAuth tokens and client registrations are kept
CALLBACK_HOST = "localhost"  # the OAuth redirect URI: http://localhost:3000/callback
CALLBACK_PORT = 3000
CALLBACK_PATH = "/callback"
CALLBACK = "auto"  # where the redirect comes back: "loopback", "relay" (the Jupyter server), or "auto"
RELAY_PATH = "mcpomni/oauth/callback"  # the relay page, under the Jupyter server's base_url
