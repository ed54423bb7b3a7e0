//! SQLite directory tests: real files in temporary directories.
