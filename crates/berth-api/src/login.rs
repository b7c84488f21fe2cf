//! What `berth login`, `berth logout` and `berth whoami` do, and how a sign-in points the docker
//! CLI at Berth (the dashboard's too). The CLI only parses arguments and calls these; they talk
//! to the user through the given reader/writer so tests can drive them.

use std::io::{BufRead, IsTerminal, Write};

use serde::{Deserialize, Serialize};

pub use berth_hub::docker_config::DockerConfig;
use berth_hub::docker_config::{DockerConfigError, HelperMode};
use berth_hub::registry_key::{is_docker_hub, registry_key, DOCKER_HUB};
pub use berth_hub::{Account, Hub, HubError};
use berth_hub::{Sensitive, SignInMethod};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    #[error(transparent)]
    Hub(#[from] HubError),
    #[error(transparent)]
    DockerConfig(#[from] DockerConfigError),
    #[error("cannot read the token")]
    ReadToken(#[source] std::io::Error),
    #[error("no token given: pass --token-stdin, or run in a terminal to be asked")]
    NoToken,
    #[error("{0}")]
    Usage(&'static str),
}

impl CommandError {
    pub fn code(&self) -> berth_core::ErrorCode {
        match self {
            CommandError::Hub(e) => e.code(),
            CommandError::DockerConfig(_) | CommandError::ReadToken(_) => berth_core::ErrorCode::Io,
            CommandError::NoToken | CommandError::Usage(_) => berth_core::ErrorCode::InvalidInput,
        }
    }
}

/// How the docker CLI is pointed at Berth's credentials after a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DockerConfigChoice {
    /// `credHelpers` for the registry signed in to (leaves every other registry alone).
    #[default]
    CredHelpers,
    /// `credsStore`: Berth answers for every registry.
    CredsStore,
    /// Leave `config.json` alone.
    None,
}

#[derive(Debug, Clone, Default)]
pub struct LoginOptions {
    /// `None`: Docker Hub.
    pub registry: Option<String>,
    /// With a user name, sign in with a token instead of the browser.
    pub username: Option<String>,
    /// Read the token from stdin (no prompt).
    pub token_stdin: bool,
    pub docker_config: DockerConfigChoice,
    /// Open the verification page in the system browser (device flow).
    pub open_browser: bool,
}

/// `berth login [-u USER] [--token-stdin] [REGISTRY]`.
pub async fn login(
    hub: &Hub,
    docker: &DockerConfig,
    options: &LoginOptions,
    stdin: &mut (dyn BufRead + Send),
    out: &mut (dyn Write + Send),
) -> Result<Account, CommandError> {
    let registry = options.registry.as_deref().unwrap_or(DOCKER_HUB);
    let account = match &options.username {
        Some(username) => {
            let token = read_token(options.token_stdin, stdin, out)?;
            hub.sign_in_with_token(Some(registry), username, token)
                .await?
        }
        None if options.token_stdin => {
            return Err(CommandError::Usage("--token-stdin needs a user name (-u)"))
        }
        None if !is_docker_hub(registry) => {
            return Err(CommandError::Usage(
                "browser sign-in is for Docker Hub; for another registry pass -u USER",
            ))
        }
        None => device_sign_in(hub, options.open_browser, out).await?,
    };
    configure_docker(docker, options.docker_config, &account, out)?;
    let _ = writeln!(
        out,
        "Signed in to {} as {}.",
        display_name(&account.registry),
        account.username
    );
    if let Some(note) = hub.secrets().persistence_note() {
        let _ = writeln!(out, "Note: {note}.");
    }
    Ok(account)
}

async fn device_sign_in(
    hub: &Hub,
    open: bool,
    out: &mut (dyn Write + Send),
) -> Result<Account, HubError> {
    let sign_in = hub.start_device_sign_in().await?;
    let _ = writeln!(out, "Your one-time code is: {}", sign_in.user_code());
    let _ = writeln!(out, "Approve it in your browser: {}", sign_in.browser_url());
    if open && !berth_hub::browser::open(sign_in.browser_url()) {
        let _ = writeln!(
            out,
            "(Could not open a browser; open the address above yourself.)"
        );
    }
    let _ = writeln!(out, "Waiting for approval...");
    let _ = out.flush();
    sign_in.finish().await
}

fn read_token(
    from_stdin: bool,
    stdin: &mut (dyn BufRead + Send),
    out: &mut (dyn Write + Send),
) -> Result<Sensitive<String>, CommandError> {
    let token = if from_stdin {
        let mut token = String::new();
        stdin
            .read_to_string(&mut token)
            .map_err(CommandError::ReadToken)?;
        token
    } else if std::io::stdin().is_terminal() {
        let _ = out.flush();
        rpassword::prompt_password("Token: ").map_err(CommandError::ReadToken)?
    } else {
        return Err(CommandError::NoToken);
    };
    let token = token.trim_end_matches(['\r', '\n']).to_string();
    if token.is_empty() {
        return Err(CommandError::NoToken);
    }
    Ok(Sensitive::new(token))
}

/// Points the docker CLI at Berth for `account`'s registry as `choice` says (what `berth login`
/// and the dashboard's sign-in do), telling `out`; nothing to do when it already is.
pub fn configure_docker(
    docker: &DockerConfig,
    choice: DockerConfigChoice,
    account: &Account,
    out: &mut (dyn Write + Send),
) -> Result<(), CommandError> {
    let mode = match choice {
        DockerConfigChoice::None => return Ok(()),
        DockerConfigChoice::CredsStore => HelperMode::CredsStore,
        DockerConfigChoice::CredHelpers => HelperMode::CredHelpers(vec![account.registry.clone()]),
    };
    if docker.uses_berth_for(&account.registry)? {
        return Ok(());
    }
    docker.enable(&mode)?;
    let _ = writeln!(
        out,
        "The docker CLI now asks Berth for these credentials ({}; backup in {}).",
        docker.file().display(),
        docker.backup_file().display()
    );
    if !helper_on_path() {
        let _ = writeln!(
            out,
            "Warning: docker-credential-berth is not on PATH; the docker CLI will not find it."
        );
    }
    Ok(())
}

fn helper_on_path() -> bool {
    let name = if cfg!(windows) {
        "docker-credential-berth.exe"
    } else {
        "docker-credential-berth"
    };
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        .unwrap_or(false)
}

/// `berth logout [REGISTRY] [--restore-docker-config]`.
pub async fn logout(
    hub: &Hub,
    docker: &DockerConfig,
    registry: Option<&str>,
    restore_docker_config: bool,
    out: &mut (dyn Write + Send),
) -> Result<bool, CommandError> {
    let key = registry_key(registry.unwrap_or(DOCKER_HUB));
    let signed_out = hub.sign_out(Some(&key)).await?;
    let _ = if signed_out {
        writeln!(out, "Signed out of {}.", display_name(&key))
    } else {
        writeln!(out, "Not signed in to {}.", display_name(&key))
    };
    if restore_docker_config {
        docker.restore()?;
        let _ = writeln!(out, "Restored {}.", docker.file().display());
    }
    Ok(signed_out)
}

/// `berth whoami`: the Hub account and every registry with credentials.
pub fn whoami(hub: &Hub, out: &mut dyn Write) -> Result<Vec<Account>, CommandError> {
    let accounts = hub.registries()?;
    if accounts.is_empty() {
        let _ = writeln!(out, "Not signed in.");
    }
    for account in &accounts {
        let how = match account.method {
            SignInMethod::OAuth => "browser sign-in",
            SignInMethod::Token => "access token",
        };
        let _ = writeln!(
            out,
            "{}\t{}\t({how})",
            display_name(&account.registry),
            account.username
        );
    }
    Ok(accounts)
}

fn display_name(registry: &str) -> &str {
    if is_docker_hub(registry) {
        "Docker Hub"
    } else {
        registry
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_hub::secrets::{MemoryKeyring, SecretStore};
    use berth_hub::test_server::{FakeBearerRegistry, OAuthTestServer, ServerOptions};
    use berth_hub::OAuthConfig;
    use berth_testkit::wait_until_async;
    use std::sync::Arc;
    use std::time::Duration;

    fn hub_for(config: OAuthConfig) -> Hub {
        Hub::new(
            SecretStore::new(Arc::new(MemoryKeyring::default()), "cmd"),
            config,
        )
    }

    /// A terminal the test can read while `login` writes to it.
    #[derive(Clone, Default)]
    struct Screen(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Screen {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    #[tokio::test]
    async fn login_with_the_device_flow_prints_the_code_and_configures_docker() {
        let server = OAuthTestServer::start(ServerOptions::default())
            .await
            .unwrap();
        let hub = hub_for(server.config());
        let dir = tempfile::tempdir().unwrap();
        let docker = DockerConfig::new(dir.path());
        let screen = Screen::default();
        let mut terminal = screen.clone();
        let login = tokio::spawn(async move {
            let options = LoginOptions::default();
            login(
                &hub,
                &docker,
                &options,
                &mut std::io::empty(),
                &mut terminal,
            )
            .await
        });
        // The user reads the code off the screen and approves it.
        let code = wait_until_async(Duration::from_secs(10), "the one-time code", || {
            std::future::ready(screen.text().lines().find_map(|l| {
                l.strip_prefix("Your one-time code is: ")
                    .map(str::to_string)
            }))
        })
        .await
        .unwrap();
        assert!(server.approve(&code));
        let account = login.await.unwrap().unwrap();
        assert_eq!(account.username, "berth-tester");
        let printed = screen.text();
        assert!(
            printed.contains("Signed in to Docker Hub as berth-tester."),
            "{printed}"
        );
        let docker = DockerConfig::new(dir.path());
        assert!(docker.uses_berth_for(DOCKER_HUB).unwrap());
        assert!(!docker.uses_berth_for("other.example").unwrap());
    }

    #[tokio::test]
    async fn login_with_a_token_from_stdin_then_whoami_and_logout() {
        let registry = FakeBearerRegistry::start("dev", "tok-1").await.unwrap();
        let hub = hub_for(OAuthConfig::default());
        let dir = tempfile::tempdir().unwrap();
        let docker = DockerConfig::new(dir.path());
        let options = LoginOptions {
            registry: Some(registry.url()),
            username: Some("dev".into()),
            token_stdin: true,
            docker_config: DockerConfigChoice::CredsStore,
            open_browser: false,
        };
        let mut out = Vec::new();
        let account = login(&hub, &docker, &options, &mut "tok-1\n".as_bytes(), &mut out)
            .await
            .unwrap();
        assert_eq!(account.username, "dev");
        assert!(docker.uses_berth_for("anything.example").unwrap());

        let mut out = Vec::new();
        let accounts = whoami(&hub, &mut out).unwrap();
        assert_eq!(accounts.len(), 1);
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("dev\t(access token)"));

        let mut out = Vec::new();
        assert!(logout(&hub, &docker, Some(&registry.url()), true, &mut out)
            .await
            .unwrap());
        assert!(!docker.uses_berth_for("anything.example").unwrap());
        let mut out = Vec::new();
        whoami(&hub, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "Not signed in.\n");
    }

    #[tokio::test]
    async fn misuse_is_refused_before_any_request() {
        let hub = hub_for(OAuthConfig::default());
        let dir = tempfile::tempdir().unwrap();
        let docker = DockerConfig::new(dir.path());
        let cases = [
            LoginOptions {
                token_stdin: true,
                ..LoginOptions::default()
            },
            LoginOptions {
                registry: Some("reg.example".into()),
                ..LoginOptions::default()
            },
            LoginOptions {
                username: Some("u".into()),
                token_stdin: true,
                ..LoginOptions::default()
            },
        ];
        for options in cases {
            let err = login(
                &hub,
                &docker,
                &options,
                &mut "\n".as_bytes(),
                &mut Vec::new(),
            )
            .await
            .unwrap_err();
            assert_eq!(err.code(), berth_core::ErrorCode::InvalidInput, "{err}");
        }
        assert!(!docker.file().exists());
    }
}
