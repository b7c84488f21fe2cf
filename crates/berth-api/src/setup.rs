//! First-run setup: what a fresh install puts in the user's own files so that the stock docker
//! CLI finds Berth — the `berth` docker context, Berth's compose as the CLI's `compose` plugin,
//! and `berth` / `docker-credential-berth` on the PATH — and its undo, which takes back only
//! what setup made. Both are idempotent, and neither replaces anything that is not Berth's.
//!
//! A bundle's own install step already puts the binaries on the PATH where it can (the .deb
//! installs into /usr/bin, the Windows installers add their folder to PATH); setup links them
//! into a per-user bin folder only when they are missing (the macOS .app, a tarball).

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::{Berth, CONTEXT_NAME};
use berth_core::{BerthPaths, ErrorCode};
use berth_engine::{ContextStore, DockerContext, EngineError};

/// The binaries a user types, so they must be on the PATH.
pub const PATH_BINARIES: [&str; 2] = ["berth", "docker-credential-berth"];

/// The compose binary as the docker CLI wants to find it in a plugin dir.
pub const COMPOSE_PLUGIN: &str = "docker-compose";

/// Berth's compose binary when it sits beside `berth` (the .app, the Windows install, dev builds).
pub const COMPOSE_BINARY: &str = "berth-compose";

/// Where the docker CLI looks for plugins system-wide (cli/cli-plugins/manager, unix).
pub const SYSTEM_PLUGIN_DIRS: [&str; 4] = [
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
];

/// The marker first-run leaves in the config dir, so it runs once per user.
pub const FIRST_RUN_MARKER: &str = "first-run-done";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    #[error("cannot set up {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot update the docker context store")]
    Contexts {
        #[source]
        source: EngineError,
    },
    #[error("cannot tell where Berth is installed")]
    NoInstall {
        #[source]
        source: std::io::Error,
    },
}

impl SetupError {
    pub fn code(&self) -> ErrorCode {
        ErrorCode::Io
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SetupError + '_ {
        move |source| SetupError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Where the installed binaries are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// The folder holding `berth` and `docker-credential-berth`.
    pub bin_dir: PathBuf,
    /// Berth's compose binary (it answers the docker CLI plugin handshake).
    pub compose: PathBuf,
}

impl Install {
    /// The install the binary at `exe` belongs to: its folder, and for compose the first of
    /// `<prefix>/lib/berth/docker-compose` (the .deb) and `berth-compose` beside it.
    pub fn beside(exe: &Path) -> Option<Install> {
        let bin_dir = exe.parent()?.to_path_buf();
        let packaged = bin_dir
            .parent()
            .map(|prefix| prefix.join("lib/berth").join(exe_name(COMPOSE_PLUGIN)));
        let compose = packaged
            .filter(|p| p.is_file())
            .unwrap_or_else(|| bin_dir.join(exe_name(COMPOSE_BINARY)));
        Some(Install { bin_dir, compose })
    }
}

/// Everything setup reads and writes, so tests can point it at a temporary home.
#[derive(Debug, Clone)]
pub struct Layout {
    pub install: Install,
    /// The docker CLI's config dir (`$DOCKER_CONFIG`, else `~/.docker`).
    pub docker_config: PathBuf,
    /// The PATH, split.
    pub path: Vec<PathBuf>,
    /// Where binaries missing from the PATH are linked (`~/.local/bin`).
    pub user_bin: PathBuf,
    /// The CLI's system-wide plugin dirs; a compose there is left in charge.
    pub system_plugin_dirs: Vec<PathBuf>,
    /// The context to write (name and Berth's engine socket).
    pub context: DockerContext,
}

impl Layout {
    /// This process's view: `$DOCKER_CONFIG`/`~/.docker`, `$PATH`, `~/.local/bin`.
    pub fn from_env(install: Install, context: DockerContext) -> Layout {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        Layout {
            install,
            docker_config: ContextStore::from_env().config_dir().to_path_buf(),
            path: std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect())
                .unwrap_or_default(),
            user_bin: home.join(".local/bin"),
            system_plugin_dirs: SYSTEM_PLUGIN_DIRS.iter().map(PathBuf::from).collect(),
            context,
        }
    }

    /// The layout of the install the running binary belongs to, for `berth`'s context.
    pub fn for_berth(berth: &Berth) -> Result<Layout, SetupError> {
        let exe = std::env::current_exe().map_err(|source| SetupError::NoInstall { source })?;
        let install = Install::beside(&exe).ok_or_else(|| SetupError::NoInstall {
            source: std::io::Error::new(ErrorKind::NotFound, "the binary has no folder"),
        })?;
        let context = DockerContext {
            name: CONTEXT_NAME.into(),
            description: Some("Berth's engine".into()),
            host: format!("unix://{}", berth.paths().engine_socket().display()),
            skip_tls_verify: false,
        };
        Ok(Layout::from_env(install, context))
    }

    fn plugin_link(&self) -> PathBuf {
        self.docker_config
            .join("cli-plugins")
            .join(exe_name(COMPOSE_PLUGIN))
    }

    fn store(&self) -> ContextStore {
        ContextStore::new(&self.docker_config)
    }
}

/// What setup or undo did (or chose not to do) about one thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    ContextWritten {
        name: String,
        host: String,
    },
    ContextRemoved {
        name: String,
    },
    Linked {
        link: PathBuf,
        target: PathBuf,
    },
    AlreadyLinked {
        link: PathBuf,
    },
    Unlinked {
        link: PathBuf,
    },
    OnPath {
        name: String,
        at: PathBuf,
    },
    /// A folder setup linked into that the PATH does not name yet.
    AddToPath {
        dir: PathBuf,
    },
    LeftAlone {
        path: PathBuf,
        reason: String,
    },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::ContextWritten { name, host } => {
                write!(f, "docker context {name}: {host}")
            }
            Outcome::ContextRemoved { name } => write!(f, "docker context {name}: removed"),
            Outcome::Linked { link, target } => {
                write!(f, "linked {} -> {}", link.display(), target.display())
            }
            Outcome::AlreadyLinked { link } => write!(f, "already linked: {}", link.display()),
            Outcome::Unlinked { link } => write!(f, "removed {}", link.display()),
            Outcome::OnPath { name, at } => write!(f, "{name} is on the PATH: {}", at.display()),
            Outcome::AddToPath { dir } => {
                write!(f, "add {} to your PATH (shell profile)", dir.display())
            }
            Outcome::LeftAlone { path, reason } => {
                write!(f, "left alone {}: {reason}", path.display())
            }
        }
    }
}

/// Writes the context, links the compose plugin and puts the binaries on the PATH.
pub fn setup(layout: &Layout) -> Result<Vec<Outcome>, SetupError> {
    let mut done = Vec::new();
    layout
        .store()
        .write(&layout.context)
        .map_err(|source| SetupError::Contexts { source })?;
    done.push(Outcome::ContextWritten {
        name: layout.context.name.clone(),
        host: layout.context.host.clone(),
    });
    done.push(link_compose_plugin(layout)?);
    done.extend(put_on_path(layout)?);
    Ok(done)
}

/// Makes the context the docker CLI's current one.
pub fn use_context(layout: &Layout) -> Result<(), SetupError> {
    layout
        .store()
        .set_current(Some(&layout.context.name))
        .map_err(|source| SetupError::Contexts { source })
}

/// Runs [`setup`] once per user: not again once `marker` exists (`None` then).
pub fn first_run(layout: &Layout, marker: &Path) -> Result<Option<Vec<Outcome>>, SetupError> {
    if marker.exists() {
        return Ok(None);
    }
    let done = setup(layout)?;
    if let Some(dir) = marker.parent() {
        std::fs::create_dir_all(dir).map_err(SetupError::io(dir))?;
    }
    let version = concat!(env!("CARGO_PKG_VERSION"), "\n");
    std::fs::write(marker, version).map_err(SetupError::io(marker))?;
    Ok(Some(done))
}

/// [`first_run`] for the install the running binary belongs to: what the app calls on start.
/// A binary run from a cargo target dir is a development build, not an install: it leaves the
/// user's files alone (`berth setup` still works there).
pub fn first_run_for(berth: &Berth) -> Result<Option<Vec<Outcome>>, SetupError> {
    let layout = Layout::for_berth(berth)?;
    if is_cargo_build(&layout.install.bin_dir) {
        return Ok(None);
    }
    first_run(&layout, &first_run_marker(berth.paths()))
}

/// Cargo marks its target dir with a `CACHEDIR.TAG`.
fn is_cargo_build(bin_dir: &Path) -> bool {
    bin_dir
        .ancestors()
        .any(|dir| dir.join("CACHEDIR.TAG").is_file())
}

/// The first-run marker of the Berth at `paths`.
pub fn first_run_marker(paths: &BerthPaths) -> PathBuf {
    paths.config_dir.join(FIRST_RUN_MARKER)
}

/// Takes back what [`setup`] made: the context (when it still points at Berth's engine), the
/// plugin link and the PATH links that point into this install. Leaves the user's data.
pub fn undo(layout: &Layout) -> Result<Vec<Outcome>, SetupError> {
    let mut done = Vec::new();
    let store = layout.store();
    let name = &layout.context.name;
    match store.read(name) {
        Ok(ctx) if ctx.host == layout.context.host => {
            store
                .remove(name)
                .map_err(|source| SetupError::Contexts { source })?;
            done.push(Outcome::ContextRemoved { name: name.clone() });
        }
        Ok(ctx) => done.push(Outcome::LeftAlone {
            path: store.meta_path(name),
            reason: format!("the {name} context points at {}, not Berth", ctx.host),
        }),
        Err(_) => {}
    }
    let mut links = vec![(layout.plugin_link(), layout.install.compose.clone())];
    for name in PATH_BINARIES {
        let exe = exe_name(name);
        links.push((
            layout.user_bin.join(&exe),
            layout.install.bin_dir.join(&exe),
        ));
    }
    for (link, target) in links {
        if is_our_link(&link, &target) {
            std::fs::remove_file(&link).map_err(SetupError::io(&link))?;
            done.push(Outcome::Unlinked { link });
        }
    }
    Ok(done)
}

/// Deletes the Berth's own folders (settings, the VM's data disk with every image, container
/// and volume, logs, sockets). Only on the user's explicit request; stop the daemon first.
pub fn delete_data(paths: &BerthPaths) -> Result<Vec<PathBuf>, SetupError> {
    let mut removed = Vec::new();
    for dir in [
        &paths.config_dir,
        &paths.data_dir,
        &paths.logs_dir,
        &paths.run_dir,
    ] {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => removed.push(dir.clone()),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(SetupError::io(dir)(e)),
        }
    }
    Ok(removed)
}

fn link_compose_plugin(layout: &Layout) -> Result<Outcome, SetupError> {
    let link = layout.plugin_link();
    let target = &layout.install.compose;
    if !target.is_file() {
        return Ok(Outcome::LeftAlone {
            path: target.clone(),
            reason: "Berth's compose is not installed".into(),
        });
    }
    match std::fs::symlink_metadata(&link) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if let Some(system) = system_compose(layout) {
                return Ok(Outcome::LeftAlone {
                    path: system,
                    reason: "docker compose is provided there; `berth compose` runs Berth's".into(),
                });
            }
        }
        Err(e) => return Err(SetupError::io(&link)(e)),
        Ok(_) if std::fs::read_link(&link).is_ok_and(|t| &t == target) => {
            return Ok(Outcome::AlreadyLinked { link });
        }
        Ok(_) if is_stale_berth_link(&link) => {
            std::fs::remove_file(&link).map_err(SetupError::io(&link))?;
        }
        Ok(_) => {
            return Ok(Outcome::LeftAlone {
                path: link,
                reason: "another compose plugin is installed there".into(),
            });
        }
    }
    make_link(target, &link)?;
    Ok(Outcome::Linked {
        link,
        target: target.clone(),
    })
}

fn put_on_path(layout: &Layout) -> Result<Vec<Outcome>, SetupError> {
    let mut done = Vec::new();
    let mut linked_any = false;
    for name in PATH_BINARIES {
        let exe = exe_name(name);
        if let Some(at) = layout
            .path
            .iter()
            .map(|d| d.join(&exe))
            .find(|p| p.is_file())
        {
            done.push(Outcome::OnPath {
                name: name.into(),
                at,
            });
            continue;
        }
        let target = layout.install.bin_dir.join(&exe);
        let link = layout.user_bin.join(&exe);
        if !target.is_file() {
            done.push(Outcome::LeftAlone {
                path: target,
                reason: format!("{name} is not installed"),
            });
        } else if std::fs::symlink_metadata(&link).is_ok() && !is_our_link(&link, &target) {
            done.push(Outcome::LeftAlone {
                path: link,
                reason: "a file of that name is already there".into(),
            });
        } else {
            if is_our_link(&link, &target) {
                std::fs::remove_file(&link).map_err(SetupError::io(&link))?;
            }
            make_link(&target, &link)?;
            linked_any = true;
            done.push(Outcome::Linked { link, target });
        }
    }
    if linked_any && !layout.path.contains(&layout.user_bin) {
        done.push(Outcome::AddToPath {
            dir: layout.user_bin.clone(),
        });
    }
    Ok(done)
}

fn system_compose(layout: &Layout) -> Option<PathBuf> {
    layout
        .system_plugin_dirs
        .iter()
        .map(|d| d.join(exe_name(COMPOSE_PLUGIN)))
        .find(|p| p.is_file())
}

/// A link to `target`, or a dangling link left by an earlier Berth install.
fn is_our_link(link: &Path, target: &Path) -> bool {
    std::fs::read_link(link).is_ok_and(|t| t == target) || is_stale_berth_link(link)
}

fn is_stale_berth_link(link: &Path) -> bool {
    match std::fs::read_link(link) {
        Ok(target) => !link.exists() && target.to_string_lossy().contains("berth"),
        Err(_) => false,
    }
}

fn exe_name(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

#[cfg(unix)]
fn make_link(target: &Path, link: &Path) -> Result<(), SetupError> {
    if let Some(dir) = link.parent() {
        std::fs::create_dir_all(dir).map_err(SetupError::io(dir))?;
    }
    std::os::unix::fs::symlink(target, link).map_err(SetupError::io(link))
}

/// Symbolic links need a privilege on Windows; the installers put Berth on the PATH there,
/// so only the compose plugin gets here, and a copy of it serves as well.
#[cfg(not(unix))]
fn make_link(target: &Path, link: &Path) -> Result<(), SetupError> {
    if let Some(dir) = link.parent() {
        std::fs::create_dir_all(dir).map_err(SetupError::io(dir))?;
    }
    std::fs::copy(target, link)
        .map(drop)
        .map_err(SetupError::io(link))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    struct Home {
        dir: tempfile::TempDir,
        layout: Layout,
    }

    /// A fake install (`prefix/bin/{berth,docker-credential-berth}`, `prefix/lib/berth/
    /// docker-compose`) and an empty home whose PATH names only `path_dir`.
    fn home() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("usr");
        let bin = prefix.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(prefix.join("lib/berth")).unwrap();
        for name in PATH_BINARIES {
            std::fs::write(bin.join(name), "#!/bin/sh\n").unwrap();
        }
        std::fs::write(prefix.join("lib/berth/docker-compose"), "#!/bin/sh\n").unwrap();
        let install = Install::beside(&bin.join("berth")).unwrap();
        let layout = Layout {
            install,
            docker_config: dir.path().join("home/.docker"),
            path: vec![dir.path().join("path_dir")],
            user_bin: dir.path().join("home/.local/bin"),
            system_plugin_dirs: vec![dir.path().join("system-plugins")],
            context: DockerContext {
                name: "berth".into(),
                description: Some("Berth's engine".into()),
                host: "unix:///run/user/1000/berth/docker.sock".into(),
                skip_tls_verify: false,
            },
        };
        Home { dir, layout }
    }

    #[test]
    fn install_prefers_the_packaged_compose_plugin() {
        let h = home();
        let prefix = h.dir.path().join("usr");
        assert_eq!(h.layout.install.bin_dir, prefix.join("bin"));
        assert_eq!(
            h.layout.install.compose,
            prefix.join("lib/berth/docker-compose")
        );
        std::fs::remove_file(prefix.join("lib/berth/docker-compose")).unwrap();
        let dev = Install::beside(&prefix.join("bin/berth")).unwrap();
        assert_eq!(dev.compose, prefix.join("bin/berth-compose"));
    }

    #[test]
    fn setup_writes_the_context_links_the_plugin_and_the_binaries() {
        let h = home();
        let done = setup(&h.layout).unwrap();
        let store = ContextStore::new(&h.layout.docker_config);
        assert_eq!(store.read("berth").unwrap().host, h.layout.context.host);
        assert_eq!(
            store.current().unwrap(),
            None,
            "setup must not switch contexts"
        );
        let plugin = h.layout.docker_config.join("cli-plugins/docker-compose");
        assert_eq!(
            std::fs::read_link(&plugin).unwrap(),
            h.layout.install.compose
        );
        for name in PATH_BINARIES {
            let link = h.layout.user_bin.join(name);
            assert_eq!(
                std::fs::read_link(&link).unwrap(),
                h.layout.install.bin_dir.join(name)
            );
        }
        assert!(done.contains(&Outcome::AddToPath {
            dir: h.layout.user_bin.clone()
        }));
    }

    #[test]
    fn setup_is_idempotent() {
        let h = home();
        setup(&h.layout).unwrap();
        let again = setup(&h.layout).unwrap();
        let plugin = h.layout.docker_config.join("cli-plugins/docker-compose");
        assert!(again.contains(&Outcome::AlreadyLinked { link: plugin }));
        assert_eq!(
            std::fs::read_link(h.layout.user_bin.join("berth")).unwrap(),
            h.layout.install.bin_dir.join("berth")
        );
    }

    #[test]
    fn binaries_already_on_the_path_are_not_linked() {
        let mut h = home();
        h.layout.path.push(h.layout.install.bin_dir.clone());
        let done = setup(&h.layout).unwrap();
        assert!(!h.layout.user_bin.join("berth").exists());
        assert!(done.contains(&Outcome::OnPath {
            name: "berth".into(),
            at: h.layout.install.bin_dir.join("berth"),
        }));
        assert!(!done.iter().any(|o| matches!(o, Outcome::AddToPath { .. })));
    }

    #[test]
    fn another_compose_plugin_is_left_alone() {
        let h = home();
        let plugins = h.layout.docker_config.join("cli-plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::write(plugins.join("docker-compose"), "real compose").unwrap();
        let done = setup(&h.layout).unwrap();
        assert_eq!(
            std::fs::read_to_string(plugins.join("docker-compose")).unwrap(),
            "real compose"
        );
        assert!(done
            .iter()
            .any(|o| matches!(o, Outcome::LeftAlone { path, .. } if path.ends_with("cli-plugins/docker-compose"))));
        undo(&h.layout).unwrap();
        assert!(plugins.join("docker-compose").is_file(), "undo kept it");
    }

    #[test]
    fn a_system_compose_plugin_stays_in_charge() {
        let h = home();
        let system = &h.layout.system_plugin_dirs[0];
        std::fs::create_dir_all(system).unwrap();
        std::fs::write(system.join("docker-compose"), "compose v2").unwrap();
        setup(&h.layout).unwrap();
        let link = h.layout.docker_config.join("cli-plugins/docker-compose");
        assert!(std::fs::symlink_metadata(link).is_err());
    }

    #[test]
    fn a_stale_berth_link_is_replaced() {
        let h = home();
        let plugins = h.layout.docker_config.join("cli-plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        let link = plugins.join("docker-compose");
        std::os::unix::fs::symlink("/opt/old-berth/docker-compose", &link).unwrap();
        setup(&h.layout).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), h.layout.install.compose);
    }

    #[test]
    fn undo_takes_back_only_what_setup_made() {
        let h = home();
        let store = ContextStore::new(&h.layout.docker_config);
        store
            .write(&DockerContext {
                name: "work".into(),
                description: None,
                host: "ssh://me@build".into(),
                skip_tls_verify: false,
            })
            .unwrap();
        setup(&h.layout).unwrap();
        store.set_current(Some("berth")).unwrap();
        let done = undo(&h.layout).unwrap();
        assert!(done.contains(&Outcome::ContextRemoved {
            name: "berth".into()
        }));
        assert!(store.read("berth").is_err());
        assert_eq!(store.current().unwrap(), None);
        assert_eq!(store.read("work").unwrap().host, "ssh://me@build");
        assert!(std::fs::symlink_metadata(
            h.layout.docker_config.join("cli-plugins/docker-compose")
        )
        .is_err());
        assert!(std::fs::symlink_metadata(h.layout.user_bin.join("berth")).is_err());
        assert!(
            undo(&h.layout).unwrap().is_empty(),
            "a second undo has nothing to do"
        );
    }

    #[test]
    fn undo_keeps_a_berth_context_pointing_elsewhere() {
        let h = home();
        let store = ContextStore::new(&h.layout.docker_config);
        let mine = DockerContext {
            host: "tcp://10.0.0.2:2376".into(),
            ..h.layout.context.clone()
        };
        store.write(&mine).unwrap();
        undo(&h.layout).unwrap();
        assert_eq!(store.read("berth").unwrap().host, "tcp://10.0.0.2:2376");
    }

    #[test]
    fn first_run_runs_once() {
        let h = home();
        let marker = h
            .dir
            .path()
            .join("home/.config/berth")
            .join(FIRST_RUN_MARKER);
        assert!(first_run(&h.layout, &marker).unwrap().is_some());
        std::fs::remove_file(h.layout.user_bin.join("berth")).unwrap();
        assert!(first_run(&h.layout, &marker).unwrap().is_none());
        assert!(
            std::fs::symlink_metadata(h.layout.user_bin.join("berth")).is_err(),
            "a user's removal is respected after the first run"
        );
    }

    #[test]
    fn a_cargo_target_dir_is_not_an_install() {
        let h = home();
        assert!(!is_cargo_build(&h.layout.install.bin_dir));
        let target = h.dir.path().join("target");
        std::fs::create_dir_all(target.join("release")).unwrap();
        std::fs::write(
            target.join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55",
        )
        .unwrap();
        assert!(is_cargo_build(&target.join("release")));
    }

    #[test]
    fn delete_data_removes_the_berth_folders_only() {
        let h = home();
        let paths = BerthPaths::under(&h.dir.path().join("berth-home"));
        paths.ensure().unwrap();
        std::fs::write(paths.data_dir.join("data.raw"), "disk").unwrap();
        let removed = delete_data(&paths).unwrap();
        assert!(removed.contains(&paths.data_dir));
        assert!(!paths.data_dir.exists() && !paths.config_dir.exists());
        assert!(h.layout.install.bin_dir.join("berth").exists());
        assert!(delete_data(&paths).unwrap().is_empty());
    }
}
