//! Registry notification events.
