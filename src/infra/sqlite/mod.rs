//! The embedded directory: SQLite via rusqlite.
