//! A vfkit for Linux, built from real parts, so that Berth's vfkit backend (the same Rust code
//! that spawns vfkit on a Mac) runs end to end here: vfkit's own command line ([`cmdline`],
//! [`config`]: every flag and device option, refused with vfkit's text where vfkit refuses)
//! and its REST API ([`rest`]), with the VM played by QEMU ([`machine`]), virtiofsd for
//! `virtio-fs` and vhost-device-vsock for `virtio-vsock` ([`vsock`]: vfkit's `socketURL`
//! semantics), run by [`vm`].
//!
//! What it cannot show: anything Virtualization.framework itself does differently from QEMU
//! (its NAT's addresses and timing, its virtio-fs server, its power-button path on arm64, its
//! clock). Those only a Mac can check.

pub mod cmdline;
pub mod config;
pub mod machine;
pub mod rest;
pub mod vm;
pub mod vsock;
