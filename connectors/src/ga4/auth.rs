//! Service-account authentication: the key file is read once, each access token is obtained by
//! signing an RS256 assertion and exchanging it at the key file's `token_uri`, and the token is
//! kept until five minutes before it expires. Neither the private key nor a token is ever
//! printed: the key lives in jsonwebtoken's redacting type, tokens in `SecretString`.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tracing::{debug, info};

use super::api;
use crate::ConnectorError;
use crate::http::{Auth, HttpClient, HttpSettings, Payload};

/// The scope kpisync asks for: read-only Analytics.
pub const SCOPE: &str = "https://www.googleapis.com/auth/analytics.readonly";

/// How long an assertion is valid; Google refuses more than one hour.
const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// A token is renewed this long before Google says it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// The fields of a service-account key file kpisync reads.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<SecretString>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

/// A parsed service-account key: who signs, with what, and where tokens come from.
pub struct ServiceAccount {
    /// The service account's e-mail, the user to add to the GA4 property.
    pub client_email: String,
    key_id: Option<String>,
    key: EncodingKey,
    /// Where assertions are exchanged for tokens.
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Parses a key file's JSON. Errors say what is wrong with the file, never its content.
    pub fn parse(json: &SecretString) -> Result<ServiceAccount, String> {
        let file: KeyFile = serde_json::from_str(json.expose_secret())
            .map_err(|_| "is not a JSON service-account key file".to_owned())?;
        if let Some(kind) = file.kind.as_deref()
            && kind != "service_account"
        {
            return Err(format!(
                "is a {kind:?} credential; create a key for a service account (type \
                 \"service_account\") in the Cloud console"
            ));
        }
        let missing = |field: &str| format!("has no {field}; download the key file again");
        let client_email = file.client_email.ok_or_else(|| missing("client_email"))?;
        let private_key = file.private_key.ok_or_else(|| missing("private_key"))?;
        let token_uri = file.token_uri.ok_or_else(|| missing("token_uri"))?;
        reqwest::Url::parse(&token_uri)
            .map_err(|error| format!("has a token_uri that is not a URL: {error}"))?;
        let key = EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes())
            .map_err(|_| "has a private_key that is not a PEM RSA key".to_owned())?;
        Ok(ServiceAccount {
            client_email,
            key_id: file.private_key_id,
            key,
            token_uri,
        })
    }

    /// A signed assertion asking for [`SCOPE`], valid from `now` for one hour.
    fn assertion(&self, now: i64) -> Result<SecretString, ConnectorError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            scope: &'a str,
            aud: &'a str,
            iat: i64,
            exp: i64,
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        let claims = Claims {
            iss: &self.client_email,
            scope: SCOPE,
            aud: &self.token_uri,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(SecretString::from)
            .map_err(|error| {
                ConnectorError::Config(format!(
                    "connectors.ga4.credentials_file: cannot sign with the private key: {error}"
                ))
            })
    }
}

/// The token endpoint's answer.
#[derive(Deserialize)]
pub(super) struct TokenResponse {
    /// The token, kept out of every printout.
    pub access_token: SecretString,
    /// Seconds it lives.
    #[serde(default = "default_expires_in")]
    pub expires_in: u64,
}

fn default_expires_in() -> u64 {
    3600
}

struct CachedToken {
    token: SecretString,
    renew_at: Instant,
}

/// Hands out access tokens, asking Google for a new one only when the cached one is about to
/// expire or was refused. The lock makes concurrent callers wait for one renewal.
pub struct TokenSource {
    account: ServiceAccount,
    client: HttpClient,
    cached: Mutex<Option<CachedToken>>,
}

impl TokenSource {
    /// A source for `account`, with requests that time out after `timeout`.
    pub fn new(account: ServiceAccount, timeout: Duration) -> Result<TokenSource, String> {
        let mut settings = HttpSettings::new("ga4", &account.token_uri);
        settings.timeout = timeout;
        // A refused key fails the same way every time; only a server error deserves a retry.
        settings.max_attempts = 3;
        settings.error_message = api::token_error_message;
        let client = HttpClient::new(settings, Auth::None)
            .map_err(|error| format!("connectors.ga4.credentials_file: token_uri: {error}"))?;
        Ok(TokenSource {
            account,
            client,
            cached: Mutex::new(None),
        })
    }

    /// The service account's e-mail.
    pub fn client_email(&self) -> &str {
        &self.account.client_email
    }

    /// A token valid for a few minutes at least.
    pub async fn token(&self) -> Result<SecretString, ConnectorError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets the cached token if it is still `refused`, so the next call gets a new one.
    pub async fn invalidate(&self, refused: &SecretString) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|token| token.token.expose_secret() == refused.expose_secret())
        {
            *cached = None;
        }
    }

    async fn fetch(&self) -> Result<CachedToken, ConnectorError> {
        let now = jiff::Timestamp::now().as_second();
        let assertion = self.account.assertion(now)?;
        let fields = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.expose_secret()),
        ];
        let started = Instant::now();
        let answer = self
            .client
            .send_json::<TokenResponse>("", Payload::Form(&fields), None)
            .await
            .map_err(|error| self.explain(error))?;
        let lifetime = Duration::from_secs(answer.body.expires_in);
        info!(
            connector = "ga4",
            expires_in_secs = answer.body.expires_in,
            "access token obtained"
        );
        debug!(
            connector = "ga4",
            elapsed_ms = started.elapsed().as_millis() as u64,
            "token"
        );
        Ok(CachedToken {
            token: answer.body.access_token,
            renew_at: started + lifetime.saturating_sub(RENEW_BEFORE),
        })
    }

    /// A refused assertion is a configuration problem: retrying cannot fix a deleted key or a
    /// wrong clock, so say what to check instead.
    fn explain(&self, error: ConnectorError) -> ConnectorError {
        match error {
            ConnectorError::Http {
                status: 400..=499,
                message,
                ..
            }
            | ConnectorError::Auth { message, .. }
            | ConnectorError::Permission { message, .. } => ConnectorError::Config(format!(
                "connectors.ga4.credentials_file: the token endpoint refused the key of {}: \
                 {message}; check that the key was not deleted or disabled and that this \
                 machine's clock is right",
                self.account.client_email
            )),
            other => other,
        }
    }
}
