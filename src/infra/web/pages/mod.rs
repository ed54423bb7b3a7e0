//! The pages, one module per group; so far signing in and out.

pub mod signin;
