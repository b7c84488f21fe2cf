//! The Linux kernel key store, for machines without a Secret Service (servers, CI, containers).
//!
//! Keys go to the user keyring (`@u`), which every process of the user can search, so the
//! `docker-credential-berth` the docker CLI spawns finds what `berth login` stored, in any
//! session. (keyring-core's keyutils store uses the session keyring plus the persistent keyring,
//! which a process without a login session — a daemon, a CI job — cannot write.) Keys live
//! in kernel memory only and are gone after a reboot, like any keyutils secret.

use linux_keyutils::{KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};

use super::{Keyring, SecretsError};

const NAME: &str = "kernel keyutils";

pub struct UserKeyring {
    ring: KeyRing,
}

fn fail(source: KeyError) -> SecretsError {
    SecretsError::Store {
        store: NAME,
        source: Box::new(source),
    }
}

fn description(service: &str, account: &str) -> String {
    format!("{service}:{account}")
}

impl UserKeyring {
    pub fn open() -> Result<Self, SecretsError> {
        let ring = KeyRing::from_special_id(KeyRingIdentifier::User, true).map_err(fail)?;
        Ok(UserKeyring { ring })
    }

    fn find(
        &self,
        service: &str,
        account: &str,
    ) -> Result<Option<linux_keyutils::Key>, SecretsError> {
        match self.ring.search(&description(service, account)) {
            Ok(key) => Ok(Some(key)),
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
                Ok(None)
            }
            Err(e) => Err(fail(e)),
        }
    }
}

impl Keyring for UserKeyring {
    fn name(&self) -> &'static str {
        NAME
    }

    fn until_reboot(&self) -> bool {
        true
    }

    fn get(&self, service: &str, account: &str) -> Result<Option<Vec<u8>>, SecretsError> {
        match self.find(service, account)? {
            Some(key) => key.read_to_vec().map(Some).map_err(fail),
            None => Ok(None),
        }
    }

    fn set(&self, service: &str, account: &str, secret: &[u8]) -> Result<(), SecretsError> {
        let key = self
            .ring
            .add_key(&description(service, account), secret)
            .map_err(fail)?;
        // Readable by this user's processes (not only by those that "possess" the key through
        // their session), never by group or others.
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::ALL)
            .build();
        key.set_perms(perms).map_err(fail)
    }

    fn delete(&self, service: &str, account: &str) -> Result<bool, SecretsError> {
        match self.find(service, account)? {
            Some(key) => key.invalidate().map(|()| true).map_err(fail),
            None => Ok(false),
        }
    }
}
