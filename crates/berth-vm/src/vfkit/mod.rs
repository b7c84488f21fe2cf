//! The macOS backend's pure half: vfkit's argv ([`spec`]) and its REST API ([`rest`]). Both
//! build and are tested on every OS; spawning vfkit itself needs a Mac.

pub mod rest;
pub mod spec;

pub use rest::{StateChange, VfkitClient, VfkitState, VmStateReply};
pub use spec::{Bootloader, Device, RestfulUri, VfkitSpec, VsockMode};
