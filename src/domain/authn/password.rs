//! Password hashing: argon2id in PHC strings.
//!
//! Parameters follow the OWASP recommendation for an online service (m = 19 MiB, t = 2,
//! p = 1): tens of milliseconds per check, so a login burst stays affordable while an
//! offline attack on a stolen database stays expensive. Pure computation: the salt of a
//! new hash comes from the caller (`app::secrets` draws it from the OS).

use std::sync::OnceLock;

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

/// Memory cost in KiB.
const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// Stored hashes asking for more than this are refused rather than computed: a
/// corrupted or planted hash must not make one login allocate gigabytes.
const MAX_M_COST: u32 = 64 * 1024;
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 8;

const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must have at least {min} characters")]
    TooShort { min: usize },
    #[error("password must have at most {max} bytes")]
    TooLong { max: usize },
    #[error("cannot hash password: {0}")]
    Hash(String),
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(M_COST, T_COST, P_COST, None)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with argon2id and the given 16-byte salt (random for every real
/// password); returns the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
pub fn hash_password(pw: &str, salt: &[u8; 16]) -> Result<String, PasswordError> {
    hash_password_in(pw, salt, &mut Scratch::new())
}

/// Like [`hash_password`], computing in `scratch` (a server's pooled memory).
fn hash_password_in(
    pw: &str,
    salt: &[u8; 16],
    scratch: &mut Scratch,
) -> Result<String, PasswordError> {
    let err = |e: &dyn std::fmt::Display| PasswordError::Hash(e.to_string());
    let argon = hasher()?;
    let params = argon.params().clone();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(
            pw.as_bytes(),
            salt,
            &mut out,
            scratch.blocks(params.block_count()),
        )
        .map_err(|e| err(&e))?;
    let salt = SaltString::encode_b64(salt).map_err(|e| err(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params)
            .try_into()
            .map_err(|e: argon2::password_hash::Error| err(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| err(&e))?),
    };
    Ok(phc.to_string())
}

/// The working memory of one argon2 check (19 MiB with the current parameters), made
/// on first use and then reused: a check that allocates its own leaves the allocator
/// holding it, and hundreds of parallel logins would keep gigabytes (the bounded pool of
/// these is `app::admission`). A server that never checks a password never pays it.
pub struct Scratch(Vec<Block>);

impl Scratch {
    pub fn new() -> Scratch {
        Scratch(Vec::new())
    }

    /// At least `count` blocks of working memory, grown (never shrunk) on demand.
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.0.len() < count {
            self.0.resize(count, Block::default());
        }
        &mut self.0[..]
    }

    /// Bytes held.
    pub fn size(&self) -> usize {
        self.0.len() * Block::SIZE
    }
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch::new()
    }
}

/// Whether `pw` matches the PHC string `phc`. False for a malformed hash, a hash of
/// another algorithm, or one with out-of-bounds parameters; never panics. The final
/// comparison is constant-time. Allocates its working memory; servers use
/// [`verify_password_in`].
pub fn verify_password(pw: &str, phc: &str) -> bool {
    verify_password_in(pw, phc, &mut Scratch(Vec::new()))
}

/// Like [`verify_password`], computing in `scratch` (grown only for a stored hash whose
/// memory cost exceeds today's, which only an older or foreign hash has).
pub fn verify_password_in(pw: &str, phc: &str, scratch: &mut Scratch) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST || params.t_cost() > MAX_T_COST || params.p_cost() > MAX_P_COST
    {
        return false;
    }
    // An absent version means 0x13, as the argon2 crate reads PHC strings.
    let version = match hash.version {
        None => Ok(Version::V0x13),
        Some(v) => Version::try_from(v),
    };
    let (Ok(algorithm), Ok(version), Some(salt), Some(expected)) = (
        Algorithm::try_from(hash.algorithm),
        version,
        hash.salt,
        hash.hash,
    ) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let expected = expected.as_bytes();
    let mut out = [0u8; 64];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    let blocks = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    if argon
        .hash_password_into_with_memory(pw.as_bytes(), salt, out, scratch.blocks(blocks))
        .is_err()
    {
        return false;
    }
    out.ct_eq(expected).into()
}

/// A hash of a fixed password made with the current parameters, computed once (in
/// `scratch`). Its salt is fixed too: nothing is protected by it, it only has to cost
/// what a real check costs.
fn dummy_hash(scratch: &mut Scratch) -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| {
            hash_password_in("regauth: no such user", b"regauth-dummy-hs", scratch).ok()
        })
        .as_deref()
}

/// Spends the work of one real `verify_password`, for a user who does not exist or
/// has no password: the answer's timing must not tell which user names exist.
pub fn verify_against_dummy(pw: &str, scratch: &mut Scratch) {
    match dummy_hash(scratch) {
        Some(phc) => {
            std::hint::black_box(verify_password_in(pw, phc, scratch));
        }
        None => {
            std::hint::black_box(hash_password_in(pw, b"regauth-dummy-hs", scratch).is_ok());
        }
    }
}

/// Computes the dummy hash now (at start-up, in `scratch`) rather than on the first
/// unknown user, whose request would otherwise take twice as long.
pub fn prepare_dummy(scratch: &mut Scratch) {
    let _ = dummy_hash(scratch);
}

/// At least 8 characters (Unicode scalar values), at most 1024 bytes.
pub fn check_password_policy(pw: &str) -> Result<(), PasswordError> {
    if pw.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES,
        });
    }
    if pw.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort {
            min: MIN_PASSWORD_CHARS,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher;

    /// A hash with a random salt, as `app::secrets` makes them.
    fn hash_password(pw: &str) -> Result<String, PasswordError> {
        super::hash_password(pw, &rand::random())
    }

    /// A 1 MiB, one-pass hash of `pw` with a fixed salt: the cheaper (older) hashes a
    /// directory may still hold.
    fn cheap_hash(alg: Algorithm, version: Version, pw: &str) -> String {
        let argon = Argon2::new(alg, version, Params::new(1024, 1, 1, None).unwrap());
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        argon
            .hash_password(pw.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    fn params_of(phc: &str) -> (String, Params) {
        let h = PasswordHash::new(phc).unwrap();
        (h.algorithm.to_string(), Params::try_from(&h).unwrap())
    }

    #[test]
    fn hash_then_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterY", &phc));
        assert!(!verify_password("", &phc));
    }

    #[test]
    fn salts_differ() {
        let a = hash_password("same password").unwrap();
        let b = hash_password("same password").unwrap();
        assert_ne!(a, b);
        assert!(verify_password("same password", &a));
        assert!(verify_password("same password", &b));
    }

    #[test]
    fn verifies_hashes_with_other_parameters() {
        // A hash made with cheaper parameters (as an older release might have) still
        // verifies: the parameters come from the PHC string.
        let phc = cheap_hash(Algorithm::Argon2id, Version::V0x13, "older password");
        assert!(phc.contains("m=1024,t=1,p=1"), "{phc}");
        assert!(verify_password("older password", &phc));
        assert!(!verify_password("older passwore", &phc));
    }

    #[test]
    fn malformed_hashes_are_false() {
        let good = hash_password("password1").unwrap();
        let truncated = &good[..good.len() - 5];
        for phc in [
            "",
            "$",
            "garbage",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2id$v=19$m=abc,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaA",
            truncated,
        ] {
            assert!(!verify_password("password1", phc), "{phc:?}");
        }
    }

    #[test]
    fn oversized_parameters_are_refused() {
        let good = hash_password("password1").unwrap();
        let huge = good.replace("m=19456", "m=4194304");
        assert!(!verify_password("password1", &huge));
        let slow = good.replace("t=2", "t=1000");
        assert!(!verify_password("password1", &slow));
    }

    #[test]
    fn dummy_hash_costs_the_same_as_a_real_one() {
        // Same algorithm and parameters as a freshly hashed password: same work.
        let mut scratch = Scratch::new();
        let dummy = dummy_hash(&mut scratch).unwrap();
        let real = hash_password("whatever1").unwrap();
        let (alg_d, p_d) = params_of(dummy);
        let (alg_r, p_r) = params_of(&real);
        assert_eq!(alg_d, alg_r);
        assert_eq!(
            (p_d.m_cost(), p_d.t_cost(), p_d.p_cost()),
            (p_r.m_cost(), p_r.t_cost(), p_r.p_cost())
        );
        // It is a real, verifiable hash (so verify runs the full argon2), and it is
        // computed once.
        assert!(verify_password("regauth: no such user", dummy));
        assert!(std::ptr::eq(dummy, dummy_hash(&mut scratch).unwrap()));
        prepare_dummy(&mut scratch);
        verify_against_dummy("anything", &mut scratch);
        verify_against_dummy("", &mut scratch);
    }

    #[test]
    fn reused_memory_gives_the_same_answers() {
        let mut scratch = Scratch::new();
        assert_eq!(scratch.size(), 0, "made on first use");
        let phc = hash_password("correct horse battery").unwrap();
        for _ in 0..2 {
            assert!(verify_password_in(
                "correct horse battery",
                &phc,
                &mut scratch
            ));
            assert!(!verify_password_in(
                "correct horse batterY",
                &phc,
                &mut scratch
            ));
        }
        assert_eq!(scratch.size(), M_COST as usize * 1024, "today's size, kept");
        // A cheaper (older) hash verifies in the same memory; argon2i and argon2d too.
        for alg in [Algorithm::Argon2id, Algorithm::Argon2i, Algorithm::Argon2d] {
            let old = cheap_hash(alg, Version::V0x13, "older password");
            assert!(
                verify_password_in("older password", &old, &mut scratch),
                "{old}"
            );
            assert!(!verify_password_in("older passwore", &old, &mut scratch));
        }
        // Version 0x10 hashes too.
        let v10 = cheap_hash(Algorithm::Argon2id, Version::V0x10, "version ten");
        assert!(
            verify_password_in("version ten", &v10, &mut scratch),
            "{v10}"
        );
    }

    #[test]
    fn policy() {
        assert_eq!(
            check_password_policy("1234567"),
            Err(PasswordError::TooShort { min: 8 })
        );
        assert_eq!(
            check_password_policy(""),
            Err(PasswordError::TooShort { min: 8 })
        );
        assert_eq!(check_password_policy("12345678"), Ok(()));
        // Characters, not bytes: 8 two-byte characters pass, 7 do not.
        assert_eq!(check_password_policy("éééééééé"), Ok(()));
        assert!(check_password_policy("ééééééé").is_err());
        assert_eq!(check_password_policy(&"a".repeat(1024)), Ok(()));
        assert_eq!(
            check_password_policy(&"a".repeat(1025)),
            Err(PasswordError::TooLong { max: 1024 })
        );
    }

    #[test]
    fn a_hash_beyond_the_bounds_is_refused_even_when_it_matches() {
        // Each one would verify (same password, cheap in the other dimensions): only
        // the bound refuses it, so a planted hash cannot make a login allocate or spin.
        let phc = |m: u32, t: u32, p: u32| {
            let params = Params::new(m, t, p, None).unwrap();
            let salt = SaltString::encode_b64(&[7; 16]).unwrap();
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(b"within reach", &salt)
                .unwrap()
                .to_string()
        };
        // At the bounds is still allowed.
        for (m, t, p) in [
            (64, 1, 1),
            (MAX_M_COST, 1, 1),
            (64, MAX_T_COST, 1),
            (8 * MAX_P_COST, 1, MAX_P_COST),
        ] {
            assert!(
                verify_password("within reach", &phc(m, t, p)),
                "m={m} t={t} p={p}"
            );
        }
        for (m, t, p) in [
            (MAX_M_COST + 8, 1, 1),
            (64, MAX_T_COST + 1, 1),
            (8 * (MAX_P_COST + 1), 1, MAX_P_COST + 1),
        ] {
            assert!(
                !verify_password("within reach", &phc(m, t, p)),
                "m={m} t={t} p={p}"
            );
        }
    }

    #[test]
    fn an_unknown_user_costs_a_full_check_in_the_pooled_memory() {
        // The dummy check runs argon2 with today's parameters in the scratch it is
        // given (which is how it costs what a real check costs).
        let mut scratch = Scratch::new();
        verify_against_dummy("anything", &mut scratch);
        let blocks = hasher().unwrap().params().block_count();
        assert_eq!(scratch.0.len(), blocks);
    }
}
