//! The fake's service account: an RSA key generated once per process with aws-lc-rs (the
//! crypto library rustls already builds), written out as a Google-style key file, and the
//! check of the assertions signed with it.

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The fake service account's e-mail.
pub const CLIENT_EMAIL: &str = "kpisync-reader@kpisync-fake.iam.gserviceaccount.com";

/// The key pair, as the key file and the token endpoint need it.
pub struct TestKey {
    /// The private key, PKCS#8 in PEM, as Google's key files hold it.
    pub private_pem: String,
    /// The public key, PKCS#1 DER, to verify assertions.
    pub public_der: Vec<u8>,
}

/// The process's test key. Generating an RSA key takes a moment in a debug build, so every
/// fake of the process shares one.
pub fn test_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        // Generating and exporting a key only fail when the system has no randomness or no
        // memory, where no test can run anyway.
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("an RSA key for the fake GA4");
        let pkcs8 = pair.as_der().expect("the fake GA4 key as PKCS#8");
        TestKey {
            private_pem: pem("PRIVATE KEY", pkcs8.as_ref()),
            public_der: pair.public_key().as_ref().to_vec(),
        }
    })
}

/// A service-account key file for the fake's key, with its token endpoint at `token_uri`.
pub fn key_file(token_uri: &str) -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": "kpisync-fake",
        "private_key_id": "fake-key-1",
        "private_key": test_key().private_pem,
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    })
    .to_string()
}

/// The claims checked here; jsonwebtoken checks `iss` and `aud` itself.
#[derive(Debug, Deserialize)]
pub struct Claims {
    /// Space-separated scopes.
    pub scope: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
}

/// Checks an assertion as Google does: RS256 signed by the test key, issued by the fake service
/// account for `token_uri`, not expired, living at most one hour, asking for Analytics.
pub fn verify(assertion: &str, token_uri: &str) -> Result<Claims, String> {
    let key = DecodingKey::from_rsa_der(&test_key().public_der);
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[token_uri]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    let claims = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map_err(|error| format!("Invalid JWT Signature or claims: {error}"))?
        .claims;
    if claims.exp - claims.iat > 3600 {
        return Err("Invalid JWT: exp is more than one hour after iat".into());
    }
    if !claims
        .scope
        .split(' ')
        .any(|scope| scope.contains("/auth/analytics"))
    {
        return Err("Invalid scope: no Analytics scope".into());
    }
    Ok(claims)
}

/// PEM armour: base64 in 64-column lines between BEGIN and END lines.
fn pem(label: &str, der: &[u8]) -> String {
    let encoded = base64(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let word = chunk.iter().enumerate().fold(0u32, |word, (index, byte)| {
            word | u32::from(*byte) << (16 - 8 * index)
        });
        for index in 0..4 {
            if index <= chunk.len() {
                text.push(char::from(
                    ALPHABET[(word >> (18 - 6 * index)) as usize & 63],
                ));
            } else {
                text.push('=');
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
