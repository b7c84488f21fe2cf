//! The host engine endpoint on Windows: this user's named pipe (`\\.\pipe\berth_engine_<SID>`,
//! [`engine_pipe`]), each connection relayed to one link stream to the guest engine, as
//! [`crate::relay`] does for a unix socket, with container-create bodies rewritten on the way
//! ([`crate::create_rewrite`]: Windows bind paths become the WSL distro's `/mnt/<drive>` paths).
//!
//! Every pipe instance is made by [`create_owner_only`]: a protected DACL that lets the pipe's
//! user in and nobody else, remote clients refused, and the first instance made with
//! `first_pipe_instance`, so a process that took the name first makes the start fail instead of
//! receiving the user's engine traffic. The daemon's control pipe is made the same way.
//!
//! The accept loop ([`serve_each`]) and the ACL's text ([`owner_only_sddl`]) are compiled and
//! tested everywhere; the pipe server itself is `cfg(windows)`, type-checked here with
//! `cargo check --target x86_64-pc-windows-gnu` (`scripts/check-cross.sh`).

use std::future::Future;
use std::io;
use std::time::Duration;

/// The pipe the `berth` docker context points at, named where the daemon's clients find it.
pub use berth_control::endpoint::{engine_pipe, engine_pipe_host};

#[cfg(windows)]
pub use server::{create_owner_only, serve_named_pipe, PipeAcceptor};

/// After a failed accept, how long before the next.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The security descriptor of a pipe only `sid` may use: a protected DACL (no inherited
/// entries) with one entry granting that SID all access. Everyone else, administrators
/// included, is refused by the DACL.
pub fn owner_only_sddl(sid: &str) -> String {
    format!("D:P(A;;GA;;;{sid})")
}

/// Something that hands out one connection at a time (a named-pipe server; a fake in tests).
pub trait Accept {
    type Conn;
    fn accept(&mut self) -> impl Future<Output = io::Result<Self::Conn>> + Send;
}

/// Hands each connection `acceptor` makes to `handle`, until `closed` resolves. A failed accept
/// (a client that went away while connecting, an instance that could not be made) is logged and
/// the next one is tried: one bad client does not end the endpoint for everyone else.
pub async fn serve_each<A: Accept>(
    mut acceptor: A,
    closed: impl Future<Output = ()>,
    mut handle: impl FnMut(A::Conn),
) {
    tokio::pin!(closed);
    loop {
        tokio::select! {
            accepted = acceptor.accept() => match accepted {
                Ok(conn) => handle(conn),
                Err(error) => {
                    tracing::warn!(%error, "a client could not connect to the pipe; serving the next");
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_RETRY) => {}
                        () = &mut closed => return,
                    }
                }
            },
            () = &mut closed => return,
        }
    }
}

#[cfg(windows)]
mod server {
    use std::io;
    use std::sync::Arc;

    use tokio::net::windows::named_pipe::{NamedPipeServer, ServerOptions};

    use super::{engine_pipe, serve_each, Accept};
    use crate::create_rewrite::{relay_connection, RewriteBody};
    use crate::host::LinkClient;
    use crate::protocol::Target;
    use crate::LinkError;

    /// One instance of the pipe `name` that only the user this process runs as can open
    /// ([`super::owner_only_sddl`]); remote clients are refused. With `first`, creating it fails
    /// when the name exists already (someone else's pipe, or a second Berth).
    pub fn create_owner_only(name: &str, first: bool) -> io::Result<NamedPipeServer> {
        let sid = berth_control::user_sid::current()?;
        let mut descriptor = security::Descriptor::from_sddl(&super::owner_only_sddl(&sid))?;
        let mut options = ServerOptions::new();
        options
            .reject_remote_clients(true)
            .first_pipe_instance(first);
        #[allow(unsafe_code)]
        // SAFETY: the attributes and the descriptor they point to live in `descriptor` until
        // the call returns; the pipe keeps its own copy of the security descriptor.
        unsafe {
            options.create_with_security_attributes_raw(name, descriptor.attributes())
        }
    }

    /// A pipe's next instance, waiting for a client; each accept makes the one after it.
    pub struct PipeAcceptor {
        name: String,
        next: NamedPipeServer,
    }

    impl PipeAcceptor {
        /// Serves `name`, starting with `first` (made by [`create_owner_only`] with `first`).
        pub fn new(name: String, first: NamedPipeServer) -> Self {
            PipeAcceptor { name, next: first }
        }
    }

    impl Accept for PipeAcceptor {
        type Conn = NamedPipeServer;

        async fn accept(&mut self) -> io::Result<NamedPipeServer> {
            let connected = self.next.connect().await;
            // A fresh instance waits for the next client whatever happened to this one. If it
            // cannot be made now, the old one stays: a client that did connect is picked up
            // again next time (connecting a connected instance succeeds at once).
            let fresh = create_owner_only(&self.name, false)?;
            let conn = std::mem::replace(&mut self.next, fresh);
            connected.map(|()| conn)
        }
    }

    /// Serves this user's engine pipe until the link closes.
    pub async fn serve_named_pipe(
        client: LinkClient,
        rewrite: Arc<RewriteBody>,
    ) -> Result<(), LinkError> {
        let name = engine_pipe();
        let next = create_owner_only(&name, true)?;
        let acceptor = PipeAcceptor::new(name, next);
        serve_each(acceptor, client.closed(), |conn| {
            tokio::spawn(relay_one(conn, client.clone(), rewrite.clone()));
        })
        .await;
        Ok(())
    }

    async fn relay_one(conn: NamedPipeServer, client: LinkClient, rewrite: Arc<RewriteBody>) {
        let stream = match client.open(Target::Engine).await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "cannot open an engine stream");
                return;
            }
        };
        if let Err(e) = relay_connection(conn, stream, rewrite.as_ref()).await {
            tracing::debug!(error = %e, "engine connection ended with an error");
        }
    }

    /// A security descriptor made from SDDL text, and the SECURITY_ATTRIBUTES that carry it.
    // The two Win32 calls that turn SDDL into a descriptor and free it again.
    #[allow(unsafe_code)]
    mod security {
        use std::ffi::c_void;
        use std::io;

        use windows_sys::Win32::Foundation::LocalFree;
        use windows_sys::Win32::Security::Authorization::{
            ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
        };
        use windows_sys::Win32::Security::{PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES};

        pub struct Descriptor {
            descriptor: PSECURITY_DESCRIPTOR,
            attributes: SECURITY_ATTRIBUTES,
        }

        impl Descriptor {
            pub fn from_sddl(sddl: &str) -> io::Result<Descriptor> {
                let text: Vec<u16> = sddl.encode_utf16().chain([0]).collect();
                let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
                // SAFETY: `text` is NUL-terminated UTF-16; the descriptor is LocalAlloc'd and
                // freed in Drop.
                let ok = unsafe {
                    ConvertStringSecurityDescriptorToSecurityDescriptorW(
                        text.as_ptr(),
                        SDDL_REVISION_1,
                        &mut descriptor,
                        std::ptr::null_mut(),
                    )
                };
                if ok == 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(Descriptor {
                    descriptor,
                    attributes: SECURITY_ATTRIBUTES {
                        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
                        lpSecurityDescriptor: descriptor,
                        bInheritHandle: 0,
                    },
                })
            }

            /// For `CreateNamedPipeW`; valid while `self` lives.
            pub fn attributes(&mut self) -> *mut c_void {
                (&mut self.attributes as *mut SECURITY_ATTRIBUTES).cast()
            }
        }

        impl Drop for Descriptor {
            fn drop(&mut self) {
                // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW;
                // freed once.
                unsafe { LocalFree(self.descriptor) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    /// Plays a pipe server: each accept takes the next scripted outcome; when the script is
    /// done it waits forever, as a pipe with no client does.
    struct Scripted(VecDeque<io::Result<u32>>);

    impl Accept for Scripted {
        type Conn = u32;

        async fn accept(&mut self) -> io::Result<u32> {
            match self.0.pop_front() {
                Some(outcome) => outcome,
                None => std::future::pending().await,
            }
        }
    }

    fn failed() -> io::Result<u32> {
        Err(io::Error::from_raw_os_error(232)) // ERROR_NO_DATA: the client closed its end
    }

    #[tokio::test]
    async fn a_failed_client_does_not_end_the_server() {
        let script = VecDeque::from([Ok(1), failed(), Ok(2), failed(), failed(), Ok(3)]);
        let served = Arc::new(Mutex::new(Vec::new()));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let mut done_tx = Some(done_tx);
        let seen = served.clone();
        let serve = serve_each(
            Scripted(script),
            async {
                let _ = done_rx.await;
            },
            move |conn| {
                let mut seen = seen.lock().unwrap();
                seen.push(conn);
                if seen.len() == 3 {
                    if let Some(tx) = done_tx.take() {
                        let _ = tx.send(());
                    }
                }
            },
        );
        tokio::time::timeout(Duration::from_secs(10), serve)
            .await
            .expect("every good client is served, then the link closes");
        assert_eq!(*served.lock().unwrap(), [1, 2, 3]);
    }

    #[tokio::test]
    async fn the_server_ends_when_the_link_closes_even_while_failing() {
        let script: VecDeque<_> = (0..1000).map(|_| failed()).collect();
        let serve = serve_each(Scripted(script), std::future::ready(()), |_| {});
        tokio::time::timeout(Duration::from_secs(5), serve)
            .await
            .expect("it stops");
    }

    #[test]
    fn only_the_owner_is_in_the_acl() {
        let sid = "S-1-5-21-3623811015-3361044348-30300820-1013";
        assert_eq!(
            owner_only_sddl(sid),
            "D:P(A;;GA;;;S-1-5-21-3623811015-3361044348-30300820-1013)"
        );
    }
}
