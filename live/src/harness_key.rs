//! The harness's signing key, kept across runs: one PEM (PKCS#8 `PRIVATE KEY`) file per
//! algorithm under a state folder, written readable by its owner only. Its `kid` is the
//! key's RFC 7638 thumbprint, so every run signs under the same `kid` and a server whose
//! JWKS client caches keys (with a cooldown between refetches, as the `jose` library's
//! does) finds the key of a second run in what it fetched for the first.
//!
//! ```no_run
//! use mcp_authz_live::harness_key::{self, KeyFile};
//! use mcp_authz_reference::jwt::Algorithm;
//! let dir = harness_key::default_state_dir().expect("a home folder");
//! let kept = KeyFile::at(harness_key::key_path(&dir, Algorithm::ES256)).load_or_create(Algorithm::ES256, false)?;
//! println!("signing as kid {} ({})", kept.key.kid(), kept.how);
//! # Ok::<(), anyhow::Error>(())
//! ```

use crate::serve::{os_rng, system_now};
use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mcp_authz_reference::jwt::{Algorithm, SigningKey};
use mcp_authz_reference::sans_io::Env;
use mcp_authz_scenarios::world::{Enterprise, IssuerKey};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the harness keeps state between runs: `$XDG_STATE_HOME/mcp-authz`, else
/// `$HOME/.local/state/mcp-authz`; `None` when neither variable is set.
pub fn default_state_dir() -> Option<PathBuf> {
    let non_empty = |v: &str| std::env::var_os(v).filter(|s| !s.is_empty()).map(PathBuf::from);
    non_empty("XDG_STATE_HOME")
        .or_else(|| non_empty("HOME").map(|h| h.join(".local").join("state")))
        .map(|d| d.join("mcp-authz"))
}

/// The file of the harness's `alg` key under `state_dir`, e.g. `test-server-es256.pem`.
pub fn key_path(state_dir: &Path, alg: Algorithm) -> PathBuf {
    state_dir.join(format!("test-server-{}.pem", alg.name().to_ascii_lowercase()))
}

/// A file holding the harness's private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    path: PathBuf,
}

/// How a key came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Read from the file.
    Kept,
    /// Made now, the file not existing.
    Created,
    /// Made now in place of the file's key (`--rotate-key`).
    Rotated,
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyOrigin::Kept => "kept from an earlier run",
            KeyOrigin::Created => "new",
            KeyOrigin::Rotated => "new, rotated",
        })
    }
}

/// A key read or made by [`KeyFile::load_or_create`].
#[derive(Debug)]
pub struct KeptKey {
    /// The key; its `kid` is its RFC 7638 thumbprint.
    pub key: SigningKey,
    /// Where it is kept.
    pub path: PathBuf,
    /// Whether it was read or made.
    pub how: KeyOrigin,
}

impl KeyFile {
    /// The key file at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        KeyFile { path: path.into() }
    }

    /// The `alg` key in the file; made and written (mode 0600, its folder 0700) when the
    /// file does not exist, or when `rotate` asks for a new one.
    pub fn load_or_create(&self, alg: Algorithm, rotate: bool) -> anyhow::Result<KeptKey> {
        let path = &self.path;
        let existing = match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading the harness key {}", path.display())),
        };
        let (der, how) = match existing {
            Some(text) if !rotate => {
                (pem_private_key(&text).with_context(|| format!("in {}", path.display()))?, KeyOrigin::Kept)
            }
            existing => {
                let der = fresh(alg)?.to_pkcs8_der()?;
                write_private(path, &pem(&der))?;
                (der, if existing.is_some() { KeyOrigin::Rotated } else { KeyOrigin::Created })
            }
        };
        let key = named(alg, &der).with_context(|| {
            format!("the harness key {} (give another --key-file, or --rotate-key)", path.display())
        })?;
        Ok(KeptKey { key, path: path.clone(), how })
    }
}

/// A new `alg` key (asymmetric), its `kid` its RFC 7638 thumbprint, kept nowhere.
pub fn fresh(alg: Algorithm) -> anyhow::Result<SigningKey> {
    let mut rng = os_rng();
    let key = SigningKey::generate(alg, "", &mut Env::new(system_now(), &mut rng))?;
    Ok(named(alg, &key.to_pkcs8_der()?)?)
}

/// The `alg` key of PKCS#8 `der`, its `kid` its RFC 7638 thumbprint.
fn named(alg: Algorithm, der: &[u8]) -> mcp_authz_reference::Result<SigningKey> {
    let unnamed = SigningKey::from_pkcs8_der(alg, "", der)?;
    SigningKey::from_pkcs8_der(alg, unnamed.public_jwk().thumbprint(), der)
}

/// `der` (PKCS#8) as a PEM `PRIVATE KEY` block.
pub fn pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"))
}

/// The DER of the PEM `PRIVATE KEY` block (PKCS#8, RFC 5958 as RFC 7468 §10 frames it)
/// in `text`.
pub fn pem_private_key(text: &str) -> anyhow::Result<Vec<u8>> {
    let (begin, end) = ("-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----");
    let inner = text
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(inner, _)| inner)
        .with_context(|| format!("expected a PEM block `{begin}` … `{end}` (PKCS#8)"))?;
    let b64: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).context("the PEM block is not base64")
}

/// Writes `text` to `path` readable by its owner only, creating its folder (0700): to a
/// temporary file first, then renamed, so a reader never sees half a key.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let context = || format!("writing the harness key {}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).with_context(context)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(context)?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).with_context(context)?;
    std::fs::rename(&tmp, path).with_context(context)
}

/// The issuer the harness's enterprise IdP signs ID-JAGs as (`test-as
/// --jwt-bearer-client`): the AS under test must trust it with the JWK Set of
/// [`grant_issuers`] (enterprise-managed authorization).
pub const HARNESS_IDP: &str = "https://idp.mcp-authz.example";
/// The issuer the harness signs workload JWTs as (workload identity federation).
pub const HARNESS_WORKLOAD_ISSUER: &str = "https://workload.mcp-authz.example";

/// The harness's issuers of JWT authorization grants, their ES256 keys kept in
/// `state_dir` (`grant-idp-es256.pem`, `grant-workload-es256.pem`, made when missing),
/// their public JWK Sets written next to them (`grant-idp.jwks.json`,
/// `grant-workload.jwks.json`) for the operator to configure the AS with; `client` is the
/// `(id, secret)` of the client registered at the AS for the JWT bearer grant
/// (`client_secret_basic`).
pub fn grant_issuers(state_dir: &Path, client: (String, String)) -> anyhow::Result<Enterprise> {
    let kept = |name: &str| -> anyhow::Result<IssuerKey> {
        let kept = KeyFile::at(state_dir.join(format!("grant-{name}-es256.pem")))
            .load_or_create(Algorithm::ES256, false)?;
        let jwks = serde_json::to_string_pretty(&kept.key.public_jwks())?;
        let path = state_dir.join(format!("grant-{name}.jwks.json"));
        std::fs::write(&path, jwks).with_context(|| format!("writing {}", path.display()))?;
        Ok(IssuerKey::of(&kept.key)?)
    };
    Ok(Enterprise {
        idp: HARNESS_IDP.into(),
        idp_key: kept("idp")?,
        workload_issuer: HARNESS_WORKLOAD_ISSUER.into(),
        workload_key: kept("workload")?,
        client,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mcp-authz-key-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_key_is_kept_with_its_kid_until_rotated() {
        let dir = scratch("kept");
        for alg in Algorithm::ASYMMETRIC {
            let file = KeyFile::at(key_path(&dir.join("state"), alg));
            let first = file.load_or_create(alg, false).unwrap();
            assert_eq!(first.how, KeyOrigin::Created);
            let mode = std::fs::metadata(&first.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{alg}: the private key is its owner's alone");
            let again = file.load_or_create(alg, false).unwrap();
            assert_eq!(again.how, KeyOrigin::Kept);
            assert_eq!(again.key.kid(), first.key.kid(), "{alg}: the same kid across runs");
            assert_eq!(again.key.public_jwk(), first.key.public_jwk());
            assert_eq!(first.key.kid(), first.key.public_jwk().thumbprint());
            let rotated = file.load_or_create(alg, true).unwrap();
            assert_eq!(rotated.how, KeyOrigin::Rotated);
            assert_ne!(rotated.key.kid(), first.key.kid(), "{alg}: a rotated key is new");
            assert_eq!(file.load_or_create(alg, false).unwrap().key.kid(), rotated.key.kid());
        }
        let dir_mode = std::fs::metadata(dir.join("state")).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_key_of_another_kind_or_no_pem_is_refused_saying_so() {
        let dir = scratch("refused");
        let path = dir.join("k.pem");
        KeyFile::at(&path).load_or_create(Algorithm::ES256, false).unwrap();
        let err = format!("{:#}", KeyFile::at(&path).load_or_create(Algorithm::RS256, false).unwrap_err());
        assert!(err.contains("unfit for RS256") && err.contains("--rotate-key"), "{err}");
        std::fs::write(&path, "not a key").unwrap();
        let err = format!("{:#}", KeyFile::at(&path).load_or_create(Algorithm::ES256, false).unwrap_err());
        assert!(err.contains("expected a PEM block"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
