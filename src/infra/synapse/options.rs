//! How the `[synapse]` section (`config::SynapseSettings`, plain values) becomes the
//! backend's options: the configuration names no backend type.

use super::backend::SynapseOptions;
use super::client::ClientLimits;
use crate::infra::config::SynapseSettings;

/// The backend's options from its section.
pub fn of(s: &SynapseSettings) -> SynapseOptions {
    let mut o = SynapseOptions::new(&s.base_url, &s.registry_host);
    o.limits = ClientLimits {
        deadline: s.call_timeout,
        per_user: s.calls_per_user,
        total: s.calls_in_flight,
        breaker_after: s.breaker_after,
        breaker_open: s.breaker_open,
    };
    o.permission_ttl = s.permission_ttl;
    o.jwks_refetch = s.jwks_refetch;
    o.cache_entries = s.cache_entries;
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_becomes_the_backends_options() {
        let s = SynapseSettings {
            base_url: "https://repo-prod.prod.sagebase.org".into(),
            ..SynapseSettings::default()
        };
        let o = of(&s);
        assert_eq!(o.limits.per_user, 2);
        assert_eq!(o.registry_host, "docker.synapse.org");
    }
}
