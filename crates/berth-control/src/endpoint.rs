//! Where the daemon serves its control protocol and Berth's engine, per OS.

use berth_core::BerthPaths;

/// The daemon's control pipe on Windows, before the user's part ([`control_pipe`]; elsewhere
/// the `control.sock` in the run dir: [`BerthPaths::control_socket`]).
pub const CONTROL_PIPE_BASE: &str = "berth_control";

/// The engine pipe on Windows, which the `berth` docker context points at, before the user's
/// part ([`engine_pipe`]).
pub const ENGINE_PIPE_BASE: &str = "berth_engine";

/// `\\.\pipe\<base>_<user>`: one pipe per user, so two people on one Windows machine each reach
/// their own engine and daemon (the pipe's ACL lets only its user in: berth-link's
/// `named_pipe::create_owner_only`). `user` is a SID (`S-1-5-21-...`); anything outside
/// `[A-Za-z0-9-]` becomes `_`, so a name cannot leave the pipe namespace.
pub fn pipe_for(base: &str, user: &str) -> String {
    let user: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(r"\\.\pipe\{base}_{user}")
}

/// This user's control pipe (Windows).
pub fn control_pipe() -> String {
    pipe_for(CONTROL_PIPE_BASE, &pipe_user())
}

/// This user's engine pipe (Windows).
pub fn engine_pipe() -> String {
    pipe_for(ENGINE_PIPE_BASE, &pipe_user())
}

/// Whose pipes: on Windows the SID of the user this process runs as (the same for the daemon,
/// the CLI and the app of one user, and not something an environment variable can change);
/// elsewhere, where the pipes are not used, the login name.
pub fn pipe_user() -> String {
    static USER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    USER.get_or_init(|| {
        #[cfg(windows)]
        if let Ok(sid) = crate::user_sid::current() {
            return sid;
        }
        ["USERNAME", "USER", "LOGNAME"]
            .iter()
            .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "user".to_owned())
    })
    .clone()
}

/// The VM console log in the logs dir.
pub const CONSOLE_LOG: &str = "vm-console.log";

/// [`engine_pipe`] in the docker CLI's `npipe://` form.
pub fn engine_pipe_host() -> String {
    npipe_host(&engine_pipe())
}

/// A pipe name in the docker CLI's `npipe://` form (`\\.\pipe\x` -> `npipe:////./pipe/x`).
pub fn npipe_host(pipe: &str) -> String {
    format!("npipe://{}", pipe.replace('\\', "/"))
}

/// Berth's own engine as a DOCKER_HOST value (what the `berth` docker context points at): the
/// named pipe on Windows, the run dir's socket elsewhere.
pub fn engine_host(paths: &BerthPaths) -> String {
    if cfg!(windows) {
        engine_pipe_host()
    } else {
        format!("unix://{}", paths.engine_socket().display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_pipe_is_named_as_the_docker_cli_writes_it() {
        let sid = "S-1-5-21-3623811015-3361044348-30300820-1013";
        let pipe = pipe_for(ENGINE_PIPE_BASE, sid);
        assert_eq!(pipe, format!(r"\\.\pipe\berth_engine_{sid}"));
        assert_eq!(
            npipe_host(&pipe),
            format!("npipe:////./pipe/berth_engine_{sid}")
        );
        assert!(engine_pipe_host().starts_with("npipe:////./pipe/berth_engine_"));
        assert_ne!(engine_pipe(), control_pipe());
    }

    #[test]
    fn a_user_cannot_leave_the_pipe_namespace() {
        assert_eq!(
            pipe_for(CONTROL_PIPE_BASE, r"..\evil/x y"),
            r"\\.\pipe\berth_control____evil_x_y"
        );
        assert_eq!(
            pipe_for(CONTROL_PIPE_BASE, "Zoë"),
            r"\\.\pipe\berth_control_Zo_"
        );
    }

    #[cfg(unix)]
    #[test]
    fn elsewhere_the_engine_is_the_run_dirs_socket() {
        let paths = BerthPaths::under(std::path::Path::new("/tmp/b"));
        assert_eq!(engine_host(&paths), "unix:///tmp/b/run/docker.sock");
    }
}
