"""Connection logs: find the files, read them with DuckDB (and a pure-Python reader for what it
rejects), and answer who fails, why and since when."""
