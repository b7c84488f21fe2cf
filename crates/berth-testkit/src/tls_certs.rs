//! TLS material for a `dockerd --tlsverify` made at test time with openssl: a CA, the engine's
//! certificate for 127.0.0.1, a client certificate, and a second, unrelated CA with its own
//! client certificate (what a wrong CA or a stranger's certificate looks like).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{run, HarnessError};

/// Where the PEM files are (all in one private dir).
#[derive(Debug, Clone)]
pub struct TlsCerts {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA that signed neither the engine's nor the client's certificate.
    pub other_ca: PathBuf,
    /// A client certificate (and key) signed by `other_ca`, which the engine does not trust.
    pub stranger_cert: PathBuf,
    pub stranger_key: PathBuf,
}

impl TlsCerts {
    /// Makes every file in `dir` (created if missing).
    pub fn make(dir: &Path) -> Result<TlsCerts, HarnessError> {
        std::fs::create_dir_all(dir).map_err(HarnessError::io(dir))?;
        let p = |name: &str| dir.join(name);
        let certs = TlsCerts {
            dir: dir.to_path_buf(),
            ca: p("ca.pem"),
            server_cert: p("server-cert.pem"),
            server_key: p("server-key.pem"),
            client_cert: p("cert.pem"),
            client_key: p("key.pem"),
            other_ca: p("other-ca.pem"),
            stranger_cert: p("stranger-cert.pem"),
            stranger_key: p("stranger-key.pem"),
        };
        let ca_key = p("ca-key.pem");
        let other_ca_key = p("other-ca-key.pem");
        make_ca(&certs.ca, &ca_key, "berth test CA")?;
        make_ca(&certs.other_ca, &other_ca_key, "another CA")?;
        let server_ext = p("server.ext");
        std::fs::write(
            &server_ext,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )
        .map_err(HarnessError::io(&server_ext))?;
        let client_ext = p("client.ext");
        std::fs::write(&client_ext, "extendedKeyUsage=clientAuth\n")
            .map_err(HarnessError::io(&client_ext))?;
        let signed = |cert: &Path, key: &Path, cn: &str, ca: &Path, ca_key: &Path, ext: &Path| {
            sign(dir, Leaf { cert, key, cn }, ca, ca_key, ext)
        };
        signed(
            &certs.server_cert,
            &certs.server_key,
            "127.0.0.1",
            &certs.ca,
            &ca_key,
            &server_ext,
        )?;
        signed(
            &certs.client_cert,
            &certs.client_key,
            "client",
            &certs.ca,
            &ca_key,
            &client_ext,
        )?;
        signed(
            &certs.stranger_cert,
            &certs.stranger_key,
            "stranger",
            &certs.other_ca,
            &other_ca_key,
            &client_ext,
        )?;
        Ok(certs)
    }

    /// `dockerd` arguments serving TLS (client certificates required) at `addr`.
    pub fn dockerd_args(&self, addr: &str) -> Vec<String> {
        let path = |p: &Path| p.display().to_string();
        vec![
            "-H".into(),
            format!("tcp://{addr}"),
            "--tlsverify".into(),
            "--tlscacert".into(),
            path(&self.ca),
            "--tlscert".into(),
            path(&self.server_cert),
            "--tlskey".into(),
            path(&self.server_key),
        ]
    }
}

fn make_ca(cert: &Path, key: &Path, cn: &str) -> Result<(), HarnessError> {
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", &format!("/CN={cn}")])
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert))?;
    Ok(())
}

struct Leaf<'a> {
    cert: &'a Path,
    key: &'a Path,
    cn: &'a str,
}

fn sign(
    dir: &Path,
    leaf: Leaf<'_>,
    ca: &Path,
    ca_key: &Path,
    ext: &Path,
) -> Result<(), HarnessError> {
    let csr = dir.join(format!("{}.csr", leaf.cn));
    run(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-subj", &format!("/CN={}", leaf.cn)])
        .arg("-keyout")
        .arg(leaf.key)
        .arg("-out")
        .arg(&csr))?;
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(&csr)
        .arg("-CA")
        .arg(ca)
        .arg("-CAkey")
        .arg(ca_key)
        .arg("-extfile")
        .arg(ext)
        .arg("-out")
        .arg(leaf.cert))?;
    Ok(())
}
