use std::path::PathBuf;

/// Everything that can go wrong below the daemon: the image, the disk, the hypervisor process.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VmError {
    #[error("{what} is not supported on this platform")]
    Unsupported { what: String },
    #[error("the guest image in {dir:?} is incomplete: {missing} is missing")]
    ImageIncomplete { dir: PathBuf, missing: String },
    #[error("cannot read the guest image manifest {path:?}")]
    ImageManifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot use {path:?}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A program the backend runs on the host is not installed.
    #[error("{program} not found: {install}")]
    MissingTool { program: String, install: String },
    #[error("cannot run {program}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} failed ({status}): {stderr}")]
    CommandFailed {
        program: String,
        status: String,
        stderr: String,
    },
    #[error("unexpected output from {program}: {detail}")]
    BadOutput { program: String, detail: String },
    #[error("the hypervisor exited during boot ({status}); its last output: {output}")]
    BootFailed { status: String, output: String },
    #[error("the hypervisor did not create {path:?} within {seconds} s")]
    BootTimeout { path: PathBuf, seconds: u64 },
    #[error("QMP: {detail}")]
    Qmp { detail: String },
    #[error("vfkit boots only an uncompressed arm64 kernel (an `Image`), and {path:?} is not one: rebuild the image with vm-image/build.sh")]
    CompressedKernel { path: PathBuf },
    #[error("vfkit's REST API: {detail}")]
    VfkitRest { detail: String },
}

impl VmError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> VmError {
        let path = path.into();
        move |source| VmError::Io { path, source }
    }
}
