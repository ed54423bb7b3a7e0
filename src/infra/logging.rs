//! tracing-subscriber set-up.
