"""A tool mapped over rows or a DataFrame: the engine, DataFrame in and out, the manager's map methods."""
