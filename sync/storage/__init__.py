"""Values between the wire and the database: wire forms per column type (``codec``), converted
straight to what SQLite stores (``sqlite_values``), bulk paths on SQLite (``fastsql``) and
PostgreSQL (``fastpg``). Imports nothing else of the engine."""
