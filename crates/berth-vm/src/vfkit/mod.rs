//! The macOS backend: vfkit's argv ([`spec`]), its REST API ([`rest`]) and the
//! [`VfkitHypervisor`] ([`backend`]). All of it builds and is tested on every OS; only running
//! vfkit needs a Mac.

pub mod backend;
pub mod rest;
pub mod spec;

pub use backend::{spec_for, VfkitHypervisor};
pub use rest::{StateChange, VfkitClient, VfkitState, VmStateReply};
pub use spec::{Bootloader, Device, RestfulUri, VfkitSpec, VsockMode};
