"""A live connection to one server: its lifecycle, transports, catalog, notifications, and the request primitive."""
