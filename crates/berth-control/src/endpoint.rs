//! Where the daemon serves its control protocol and Berth's engine, per OS.

use berth_core::BerthPaths;

/// The daemon's control endpoint on Windows (elsewhere the `control.sock` in the run dir:
/// [`BerthPaths::control_socket`]).
pub const CONTROL_PIPE: &str = r"\\.\pipe\berth_control";

/// The engine pipe on Windows, which the `berth` docker context points at.
pub const ENGINE_PIPE: &str = r"\\.\pipe\berth_engine";

/// The VM console log in the logs dir.
pub const CONSOLE_LOG: &str = "vm-console.log";

/// [`ENGINE_PIPE`] in the docker CLI's `npipe://` form.
pub fn engine_pipe_host() -> String {
    format!("npipe://{}", ENGINE_PIPE.replace('\\', "/"))
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
        assert_eq!(engine_pipe_host(), "npipe:////./pipe/berth_engine");
    }

    #[cfg(unix)]
    #[test]
    fn elsewhere_the_engine_is_the_run_dirs_socket() {
        let paths = BerthPaths::under(std::path::Path::new("/tmp/b"));
        assert_eq!(engine_host(&paths), "unix:///tmp/b/run/docker.sock");
    }
}
