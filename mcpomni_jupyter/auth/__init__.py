"""OAuth for HTTP servers: the loopback callback server, the token store, and the SDK wiring."""
