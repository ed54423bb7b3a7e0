//! The `regauth` command line.
