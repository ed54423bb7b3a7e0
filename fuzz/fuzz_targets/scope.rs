//! The scope grammar: one scope per input, and `parse_scope_params` over the input's lines
//! (each line one `scope` value, which may hold several space-separated scopes).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use regauth::domain::scope::ResourceScope;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(scope) = ResourceScope::parse(&text) {
        common::check_scope(&scope);
    }
    let values: Vec<&str> = text.split('\n').collect();
    common::check_scope_params(&values);
});
