//! Every secret Berth keeps lives in the OS keyring, and only there: macOS Keychain, Windows
//! Credential Manager, the Secret Service on Linux desktops, and the kernel keyutils store where
//! no Secret Service runs (servers, CI, containers).
//!
//! Entries are namespaced per Berth home, so a test Berth (`BERTH_HOME=/tmp/x`) never sees the
//! user's credentials and vice versa.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use berth_core::BerthPaths;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::credential_helper::CredentialStore;
use crate::registry_key::registry_key;
use crate::sensitive::Sensitive;

/// Selects the Linux store: `keyutils`, `secret-service`, or unset for "Secret Service when a
/// session bus offers one, else keyutils".
pub const KEYRING_VAR: &str = "BERTH_KEYRING";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    #[error("the {store} keyring failed")]
    Keyring {
        store: &'static str,
        #[source]
        source: keyring_core::Error,
    },
    #[error("the {store} keyring failed")]
    Store {
        store: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("no OS keyring is available: {reason}")]
    Unavailable { reason: String },
    #[error("the keyring entry {account:?} is not in Berth's format")]
    Corrupt { account: String },
    #[error("cannot locate Berth's home")]
    Paths(#[from] berth_core::paths::PathsError),
}

/// The few operations Berth needs from a keyring; the OS one and an in-memory one for tests.
pub trait Keyring: Send + Sync {
    fn name(&self) -> &'static str;
    fn get(&self, service: &str, account: &str) -> Result<Option<Vec<u8>>, SecretsError>;
    fn set(&self, service: &str, account: &str, secret: &[u8]) -> Result<(), SecretsError>;
    /// Returns false when there was nothing to delete.
    fn delete(&self, service: &str, account: &str) -> Result<bool, SecretsError>;
    /// True for a store that forgets everything at reboot (the kernel keyring): the user is
    /// told where they sign in.
    fn until_reboot(&self) -> bool {
        false
    }
}

/// A user name and secret for one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCredential {
    /// As the user or the docker CLI spelled it.
    pub server_url: String,
    pub username: String,
    pub secret: Sensitive<String>,
}

/// Berth's view of the keyring: one namespace (keyring "service") per Berth home.
#[derive(Clone)]
pub struct SecretStore {
    keyring: Arc<dyn Keyring>,
    service: String,
}

/// What the keyring holds per registry (JSON, inside the keyring only).
#[derive(Serialize, Deserialize)]
struct StoredCredential {
    server_url: String,
    username: String,
    secret: String,
}

/// The list of registries with credentials (no secrets: names only), kept in the keyring too
/// because not every keyring can enumerate its entries.
type Index = BTreeMap<String, IndexEntry>;

#[derive(Serialize, Deserialize, Clone)]
struct IndexEntry {
    server_url: String,
    username: String,
}

const INDEX_ACCOUNT: &str = "index";

impl SecretStore {
    pub fn new(keyring: Arc<dyn Keyring>, namespace: &str) -> Self {
        SecretStore {
            keyring,
            service: format!("berth:{namespace}"),
        }
    }

    /// The OS keyring, namespaced for the Berth home in `BERTH_HOME` (or the default one).
    pub fn open() -> Result<Self, SecretsError> {
        Self::for_paths(&BerthPaths::from_env()?)
    }

    pub fn for_paths(paths: &BerthPaths) -> Result<Self, SecretsError> {
        Ok(Self::new(os_keyring()?, &namespace_of(paths)))
    }

    pub fn keyring_name(&self) -> &'static str {
        self.keyring.name()
    }

    /// Said where the user signs in when the secrets last only until reboot (no Secret Service
    /// runs, so they went to the kernel keyring); `None` when they persist.
    pub fn persistence_note(&self) -> Option<String> {
        self.keyring.until_reboot().then(|| {
            format!(
                "no Secret Service is running, so this sign-in is kept in the {} keyring \
                 until the next reboot only; start one (such as GNOME Keyring) to keep it",
                self.keyring.name()
            )
        })
    }

    pub fn get_secret(&self, account: &str) -> Result<Option<Sensitive<Vec<u8>>>, SecretsError> {
        Ok(self
            .keyring
            .get(&self.service, account)?
            .map(Sensitive::new))
    }

    pub fn set_secret(
        &self,
        account: &str,
        secret: &Sensitive<Vec<u8>>,
    ) -> Result<(), SecretsError> {
        self.keyring.set(&self.service, account, secret.expose())
    }

    pub fn delete_secret(&self, account: &str) -> Result<bool, SecretsError> {
        self.keyring.delete(&self.service, account)
    }

    fn read_json<T: for<'de> Deserialize<'de>>(
        &self,
        account: &str,
    ) -> Result<Option<T>, SecretsError> {
        match self.keyring.get(&self.service, account)? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|_| SecretsError::Corrupt {
                        account: account.to_string(),
                    })
            }
        }
    }

    fn write_json<T: Serialize>(&self, account: &str, value: &T) -> Result<(), SecretsError> {
        let bytes = serde_json::to_vec(value).map_err(|_| SecretsError::Corrupt {
            account: account.to_string(),
        })?;
        self.keyring.set(&self.service, account, &bytes)
    }

    fn index(&self) -> Result<Index, SecretsError> {
        Ok(self.read_json(INDEX_ACCOUNT)?.unwrap_or_default())
    }

    /// A secret value stored as JSON under `account` (OAuth tokens).
    pub(crate) fn get_record<T: for<'de> Deserialize<'de>>(
        &self,
        account: &str,
    ) -> Result<Option<T>, SecretsError> {
        self.read_json(account)
    }

    pub(crate) fn set_record<T: Serialize>(
        &self,
        account: &str,
        value: &T,
    ) -> Result<(), SecretsError> {
        self.write_json(account, value)
    }
}

fn credential_account(key: &str) -> String {
    format!("registry:{key}")
}

impl CredentialStore for SecretStore {
    fn store(&self, credential: &RegistryCredential) -> Result<(), SecretsError> {
        let key = registry_key(&credential.server_url);
        self.write_json(
            &credential_account(&key),
            &StoredCredential {
                server_url: credential.server_url.clone(),
                username: credential.username.clone(),
                secret: credential.secret.expose().clone(),
            },
        )?;
        let mut index = self.index()?;
        index.insert(
            key,
            IndexEntry {
                server_url: credential.server_url.clone(),
                username: credential.username.clone(),
            },
        );
        self.write_json(INDEX_ACCOUNT, &index)
    }

    fn get(&self, server_url: &str) -> Result<Option<RegistryCredential>, SecretsError> {
        let stored: Option<StoredCredential> =
            self.read_json(&credential_account(&registry_key(server_url)))?;
        Ok(stored.map(|stored| RegistryCredential {
            server_url: stored.server_url,
            username: stored.username,
            secret: Sensitive::new(stored.secret),
        }))
    }

    fn erase(&self, server_url: &str) -> Result<bool, SecretsError> {
        let key = registry_key(server_url);
        let erased = self
            .keyring
            .delete(&self.service, &credential_account(&key))?;
        let mut index = self.index()?;
        if index.remove(&key).is_some() {
            if index.is_empty() {
                // Leave nothing behind in the keyring once the last registry is gone.
                self.keyring.delete(&self.service, INDEX_ACCOUNT)?;
            } else {
                self.write_json(INDEX_ACCOUNT, &index)?;
            }
        }
        Ok(erased)
    }

    fn list(&self) -> Result<BTreeMap<String, String>, SecretsError> {
        Ok(self
            .index()?
            .into_values()
            .map(|entry| (entry.server_url, entry.username))
            .collect())
    }
}

/// Stable per Berth home: a hash of its config directory.
pub fn namespace_of(paths: &BerthPaths) -> String {
    let digest = Sha256::digest(paths.config_dir.to_string_lossy().as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A keyring that lives in memory: for tests and the UI's mock backend.
#[derive(Default)]
pub struct MemoryKeyring {
    entries: Mutex<HashMap<(String, String), Vec<u8>>>,
}

impl MemoryKeyring {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Vec<u8>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Keyring for MemoryKeyring {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn get(&self, service: &str, account: &str) -> Result<Option<Vec<u8>>, SecretsError> {
        Ok(self
            .entries()
            .get(&(service.to_string(), account.to_string()))
            .cloned())
    }

    fn set(&self, service: &str, account: &str, secret: &[u8]) -> Result<(), SecretsError> {
        self.entries()
            .insert((service.to_string(), account.to_string()), secret.to_vec());
        Ok(())
    }

    fn delete(&self, service: &str, account: &str) -> Result<bool, SecretsError> {
        Ok(self
            .entries()
            .remove(&(service.to_string(), account.to_string()))
            .is_some())
    }
}

/// A keyring-core credential store (the OS keyrings).
pub struct OsKeyring {
    store: Arc<keyring_core::CredentialStore>,
    name: &'static str,
}

impl OsKeyring {
    fn entry(&self, service: &str, account: &str) -> Result<keyring_core::Entry, SecretsError> {
        keyring_core::Entry::new_in_store(&self.store, service, account).map_err(|e| self.fail(e))
    }

    fn fail(&self, source: keyring_core::Error) -> SecretsError {
        SecretsError::Keyring {
            store: self.name,
            source,
        }
    }
}

impl Keyring for OsKeyring {
    fn name(&self) -> &'static str {
        self.name
    }

    fn get(&self, service: &str, account: &str) -> Result<Option<Vec<u8>>, SecretsError> {
        match self.entry(service, account)?.get_secret() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn set(&self, service: &str, account: &str, secret: &[u8]) -> Result<(), SecretsError> {
        self.entry(service, account)?
            .set_secret(secret)
            .map_err(|e| self.fail(e))
    }

    fn delete(&self, service: &str, account: &str) -> Result<bool, SecretsError> {
        match self.entry(service, account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }
}

/// The keyring of this OS (see [`KEYRING_VAR`] on Linux).
pub fn os_keyring() -> Result<Arc<dyn Keyring>, SecretsError> {
    platform::os_keyring(&std::env::var(KEYRING_VAR).unwrap_or_default())
}

#[cfg(target_os = "linux")]
mod platform {
    use super::*;

    pub fn os_keyring(choice: &str) -> Result<Arc<dyn Keyring>, SecretsError> {
        match choice {
            "keyutils" => keyutils(),
            "secret-service" => secret_service(),
            "" => secret_service().or_else(|error| {
                tracing::debug!(%error, "no Secret Service; using the kernel keyutils store");
                keyutils()
            }),
            other => Err(SecretsError::Unavailable {
                reason: format!("{KEYRING_VAR}={other:?} is not one of keyutils, secret-service"),
            }),
        }
    }

    fn keyutils() -> Result<Arc<dyn Keyring>, SecretsError> {
        Ok(Arc::new(keyutils::UserKeyring::open()?))
    }

    fn secret_service() -> Result<Arc<dyn Keyring>, SecretsError> {
        let name = "Secret Service";
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            return Err(SecretsError::Unavailable {
                reason: "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset)".into(),
            });
        }
        let store: Arc<keyring_core::CredentialStore> =
            dbus_secret_service_keyring_store::Store::new().map_err(|source| {
                SecretsError::Keyring {
                    store: name,
                    source,
                }
            })?;
        let keyring = OsKeyring { store, name };
        // A bus without a Secret Service answers only when asked: ask now, not at first use.
        keyring.get("berth:probe", "probe")?;
        Ok(Arc::new(keyring))
    }
}

#[cfg(target_os = "linux")]
mod keyutils;

#[cfg(target_os = "macos")]
mod platform {
    use super::*;

    pub fn os_keyring(_choice: &str) -> Result<Arc<dyn Keyring>, SecretsError> {
        let name = "macOS Keychain";
        let store: Arc<keyring_core::CredentialStore> =
            apple_native_keyring_store::keychain::Store::new().map_err(|source| {
                SecretsError::Keyring {
                    store: name,
                    source,
                }
            })?;
        Ok(Arc::new(OsKeyring { store, name }))
    }
}

#[cfg(target_os = "windows")]
mod platform {
    use super::*;

    pub fn os_keyring(_choice: &str) -> Result<Arc<dyn Keyring>, SecretsError> {
        let name = "Windows Credential Manager";
        let store: Arc<keyring_core::CredentialStore> = windows_native_keyring_store::Store::new()
            .map_err(|source| SecretsError::Keyring {
                store: name,
                source,
            })?;
        Ok(Arc::new(OsKeyring { store, name }))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
mod platform {
    use super::*;

    pub fn os_keyring(_choice: &str) -> Result<Arc<dyn Keyring>, SecretsError> {
        Err(SecretsError::Unavailable {
            reason: "this OS has no supported keyring".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn credential(url: &str, user: &str, secret: &str) -> RegistryCredential {
        RegistryCredential {
            server_url: url.into(),
            username: user.into(),
            secret: Sensitive::new(secret.into()),
        }
    }

    #[test]
    fn namespaces_differ_per_berth_home() {
        let a = namespace_of(&BerthPaths::under(Path::new("/tmp/a")));
        let b = namespace_of(&BerthPaths::under(Path::new("/tmp/b")));
        assert_ne!(a, b);
        assert_eq!(a, namespace_of(&BerthPaths::under(Path::new("/tmp/a"))));
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn two_namespaces_in_one_keyring_do_not_see_each_other() {
        let keyring: Arc<dyn Keyring> = Arc::new(MemoryKeyring::default());
        let a = SecretStore::new(keyring.clone(), "a");
        let b = SecretStore::new(keyring, "b");
        a.store(&credential("reg:5000", "u", "p")).unwrap();
        assert!(b.get("reg:5000").unwrap().is_none());
        assert!(b.list().unwrap().is_empty());
        assert_eq!(a.list().unwrap().len(), 1);
    }

    #[test]
    fn storing_again_replaces_and_erase_updates_the_index() {
        let store = SecretStore::new(Arc::new(MemoryKeyring::default()), "t");
        store.store(&credential("docker.io", "old", "1")).unwrap();
        store
            .store(&credential("https://index.docker.io/v1/", "new", "2"))
            .unwrap();
        let got = store.get("index.docker.io").unwrap().unwrap();
        assert_eq!(
            (got.username.as_str(), got.secret.expose().as_str()),
            ("new", "2")
        );
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(store.erase("docker.io").unwrap());
        assert!(!store.erase("docker.io").unwrap());
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn a_corrupt_entry_is_reported_not_misread() {
        let keyring = Arc::new(MemoryKeyring::default());
        let store = SecretStore::new(keyring.clone(), "t");
        keyring
            .set("berth:t", "registry:reg.example", b"not json")
            .unwrap();
        assert!(matches!(
            store.get("reg.example"),
            Err(SecretsError::Corrupt { .. })
        ));
    }

    /// A real store: the kernel keyutils keyring (works as any user, no session bus needed).
    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_keyutils_round_trip() {
        let keyring = platform::os_keyring("keyutils").expect("keyutils store");
        assert_eq!(keyring.name(), "kernel keyutils");
        let namespace = format!("unit-test-{}", std::process::id());
        let store = SecretStore::new(keyring.clone(), &namespace);
        // The kernel keyring forgets at reboot, and the user is told where they sign in.
        let note = store
            .persistence_note()
            .expect("a note for the kernel keyring");
        assert!(note.contains("until the next reboot"), "{note}");
        assert_eq!(
            SecretStore::new(Arc::new(MemoryKeyring::default()), "t").persistence_note(),
            None
        );
        store
            .store(&credential("reg.test:1", "u", "s3cret"))
            .unwrap();
        // A second handle (as another process would open it) sees the same entry.
        let again = SecretStore::new(platform::os_keyring("keyutils").unwrap(), &namespace);
        let got = again.get("reg.test:1").unwrap().unwrap();
        assert_eq!(got.secret.expose(), "s3cret");
        assert_eq!(
            again.list().unwrap().get("reg.test:1").map(String::as_str),
            Some("u")
        );
        assert!(again.erase("reg.test:1").unwrap());
        assert!(store.get("reg.test:1").unwrap().is_none());
        // The last erase removes the index too: nothing of this namespace is left.
        assert!(!store.delete_secret(INDEX_ACCOUNT).unwrap());
    }
}
