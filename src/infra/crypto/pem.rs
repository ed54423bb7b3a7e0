//! PEM in and out without ever echoing a file's content: key files hold secrets.

use rustls_pki_types::pem;
use x509_cert::der::pem::LineEnding;

/// Describes a PEM parse failure. The library's own `Display` may echo a line of the
/// file (e.g. an illegal section start), which for a key file could be key material,
/// so only the kind of failure is kept.
pub(crate) fn describe_pem_error(e: &pem::Error) -> String {
    match e {
        pem::Error::Io(io) => format!("cannot read: {io}"),
        pem::Error::MissingSectionEnd { .. } => "malformed PEM: a section has no END line".into(),
        pem::Error::IllegalSectionStart { .. } => "malformed PEM: invalid BEGIN line".into(),
        pem::Error::Base64Decode(_) => "malformed PEM: invalid base64".into(),
        pem::Error::NoItemsFound => "no PEM items found".into(),
        pem::Error::SectionTooLarge => "malformed PEM: section too large".into(),
        _ => "malformed PEM".into(),
    }
}

/// `der` as one PEM block with `label`, LF line endings (what every file regauth writes
/// uses, so the bundle reads the same on every platform).
pub(super) fn encode(label: &str, der: &[u8]) -> Result<String, String> {
    x509_cert::der::pem::encode_string(label, LineEnding::LF, der).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    #[test]
    fn errors_never_quote_the_input() {
        let secret = "SECRETSECRETSECRET";
        let text = format!("-----BEGIN {secret}\nAAAA\n");
        let err = CertificateDer::from_pem_slice(text.as_bytes()).unwrap_err();
        assert!(!describe_pem_error(&err).contains(secret));
    }

    #[test]
    fn encodes_what_it_decodes() {
        let der = (0..=255u8).collect::<Vec<u8>>();
        let text = encode("CERTIFICATE", &der).unwrap();
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"), "{text}");
        assert!(!text.contains('\r'));
        let back = CertificateDer::from_pem_slice(text.as_bytes()).unwrap();
        assert_eq!(back.as_ref(), der.as_slice());
    }
}
