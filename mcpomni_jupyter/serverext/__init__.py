"""The Jupyter server extension (the OAuth relay page); it runs in the Jupyter server process, not the kernel."""
