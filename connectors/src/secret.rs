//! Where a secret comes from: inline in the configuration, a file, or a systemd credential
//! (`LoadCredential=` exposes it as a file under `$CREDENTIALS_DIRECTORY`).

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

/// The three ways a configuration may give one secret; exactly one must be set.
#[derive(Default)]
pub struct SecretSources {
    /// The secret itself (`api_key`).
    pub inline: Option<SecretString>,
    /// A file holding it (`api_key_file`).
    pub file: Option<PathBuf>,
    /// The name of a systemd credential holding it (`api_key_credential`).
    pub credential: Option<String>,
}

impl SecretSources {
    /// Reads the secret. `key` names the configuration key (`connectors.stripe.api_key`) in
    /// error messages, which never include the secret itself.
    pub fn resolve(self, key: &str) -> Result<SecretString, String> {
        let given = [
            self.inline.is_some(),
            self.file.is_some(),
            self.credential.is_some(),
        ];
        match given.iter().filter(|set| **set).count() {
            0 => {
                return Err(format!(
                    "{key}: missing; set {key}, {key}_file or {key}_credential"
                ));
            }
            1 => {}
            _ => {
                return Err(format!(
                    "{key}: set only one of {key}, {key}_file, {key}_credential"
                ));
            }
        }

        if let Some(secret) = self.inline {
            return non_empty(key, secret);
        }
        if let Some(path) = self.file {
            return read_secret_file(&path).map_err(|error| format!("{key}_file: {error}"));
        }
        let name = self.credential.unwrap_or_default();
        let directory = std::env::var_os("CREDENTIALS_DIRECTORY").ok_or_else(|| {
            format!(
                "{key}_credential: $CREDENTIALS_DIRECTORY is not set (systemd sets it for a \
                 service with LoadCredential=); use {key}_file outside the service"
            )
        })?;
        if name.is_empty() || name.contains('/') {
            return Err(format!(
                "{key}_credential: {name:?} is not a credential name"
            ));
        }
        read_secret_file(&Path::new(&directory).join(&name))
            .map_err(|error| format!("{key}_credential {name:?}: {error}"))
    }
}

fn non_empty(key: &str, secret: SecretString) -> Result<SecretString, String> {
    if secret.expose_secret().trim().is_empty() {
        return Err(format!("{key}: empty"));
    }
    Ok(secret)
}

/// Reads a secret file, without the trailing newline editors and `echo` leave.
fn read_secret_file(path: &Path) -> Result<SecretString, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let secret = text.trim_end_matches(['\n', '\r']).to_owned();
    if secret.trim().is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(SecretString::from(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_secret_names_the_three_keys() {
        let error = SecretSources::default()
            .resolve("connectors.stripe.api_key")
            .unwrap_err();
        assert!(error.contains("connectors.stripe.api_key_file"), "{error}");
    }

    #[test]
    fn a_secret_file_loses_its_trailing_newline() {
        let path = std::env::temp_dir().join(format!("kpisync-secret-{}", std::process::id()));
        std::fs::write(&path, "sk_test_123\n").unwrap();
        let sources = SecretSources {
            file: Some(path.clone()),
            ..Default::default()
        };
        let secret = sources.resolve("k").unwrap();
        assert_eq!(secret.expose_secret(), "sk_test_123");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn two_sources_at_once_are_refused() {
        let sources = SecretSources {
            inline: Some(SecretString::from("a")),
            credential: Some("stripe".into()),
            ..Default::default()
        };
        assert!(sources.resolve("k").unwrap_err().contains("only one"));
    }
}
