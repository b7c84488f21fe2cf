//! Tier 3: shared folders. A temporary "home" owned by a non-root user (uid 1000) and a second
//! folder with a space in its path are configured as `shared_folders`; the real guest image is
//! booted under QEMU by the real `berth` CLI and the stock `docker` CLI bind-mounts them.
//!
//! Shows: a host file is read in a container through `-v <host path>:/src`; files a container
//! writes belong on the host to the folder's owner (not root); a change on either side is seen
//! on the other while a container runs.
//!
//! Both sharing methods run, one boot each: virtio-9p (served by QEMU) and virtio-fs (served by
//! virtiofsd).
//!
//! Needs: the image (`vm-image/build.sh`, cached), qemu-system-x86_64, qemu-img, the docker
//! CLI, busybox-static, and virtiofsd 1.11+ (`BERTH_VIRTIOFSD`, else on the PATH; Debian 12 has
//! no package: `apt-get install libcap-ng-dev libseccomp-dev && cargo install virtiofsd
//! --locked`). A missing one fails the test.
// The VM tier boots the Linux QEMU backend.
#![cfg(target_os = "linux")]

mod vm_support;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use berth_testkit::wait_until;
use vm_support::{import_busybox, run, Env};

const SEEN_DEADLINE: Duration = Duration::from_secs(30);
/// The share owner: a plain user's uid/gid (no passwd entry is needed: QEMU switches by number).
const OWNER: (u32, u32) = (1000, 1000);

impl Env {
    fn write_settings(&self, shared: &[&Path]) {
        let config = self.home.path().join("config");
        std::fs::create_dir_all(&config).unwrap();
        let list: Vec<String> = shared
            .iter()
            .map(|p| format!("{:?}", p.to_str().unwrap()))
            .collect();
        std::fs::write(
            config.join("settings.toml"),
            format!("shared_folders = [{}]\n", list.join(", ")),
        )
        .unwrap();
    }

    /// `berth start` with the daemon told to share over `method`.
    fn start(&self, method: &str, virtiofsd: &Path) -> Duration {
        let mut cmd = self.berth(&["start"]);
        cmd.env("BERTH_SHARE_METHOD", method)
            .env("BERTH_VIRTIOFSD", virtiofsd);
        self.booted(cmd, "berth start").1
    }

    /// Stops the engine and the daemon, so the next start reads the environment again.
    fn stop(&self) {
        run(&mut self.berth(&["stop", "--quit"]), "berth stop --quit");
        wait_until(Duration::from_secs(60), "the daemon to exit", || {
            self.daemon_pid()
                .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
                .is_none()
                .then_some(())
        })
        .unwrap();
    }

    fn console(&self) -> String {
        self.log("vm-console.log")
    }
}

fn chown_tree(path: &Path, (uid, gid): (u32, u32)) {
    run(
        Command::new("chown")
            .arg("-R")
            .arg(format!("{uid}:{gid}"))
            .arg(path),
        "chown",
    );
}

fn owner_of(path: &Path) -> (u32, u32) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (meta.uid(), meta.gid())
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// virtiofsd from `BERTH_VIRTIOFSD`, the PATH or `/usr/libexec` (where Berth looks too).
fn virtiofsd() -> PathBuf {
    if let Some(path) = std::env::var_os("BERTH_VIRTIOFSD").filter(|v| !v.is_empty()) {
        return PathBuf::from(path);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("virtiofsd"))
        .chain([PathBuf::from("/usr/libexec/virtiofsd")])
        .find(|p| p.is_file())
        .expect(
            "virtiofsd is needed (BERTH_VIRTIOFSD or PATH): apt-get install -y libcap-ng-dev \
             libseccomp-dev && cargo install virtiofsd --locked",
        )
}

#[test]
fn vm_shared_folders() {
    let virtiofsd = virtiofsd();
    let env = Env::new("berth-vm-share-");
    // The "home" and the extra folder live outside BERTH_HOME (the daemon's own files must
    // not be in a share); the extra one has a space in its path.
    let outside = tempfile::Builder::new()
        .prefix("berth-share-")
        .tempdir()
        .unwrap();
    let home = outside.path().join("home");
    let extra = outside.path().join("extra dir");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("note"), "extra folder\n").unwrap();
    env.write_settings(&[&home, &extra]);
    let image = "berth-share-test/busybox:1";

    for (i, method) in ["9p", "virtiofs"].into_iter().enumerate() {
        let project = home.join(format!("project-{method}"));
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(project.join("file"), "hello from the host\n").unwrap();
        chown_tree(&home, OWNER);

        let took = env.start(method, &virtiofsd);
        eprintln!("{method}: boot with two shares to engine ready: {took:?}");
        if i == 0 {
            let work = env.home.path().join("work");
            std::fs::create_dir_all(&work).unwrap();
            import_busybox(&env, &work, image);
        }
        exercise(&env, method, image, &project, &extra);
        env.stop();
        let console = env.console();
        assert!(
            !console.contains("berth-shares:"),
            "{method}: the guest reported a share problem:\n{console}"
        );
    }
}

/// The checks, for one sharing method.
fn exercise(env: &Env, method: &str, image: &str, project: &Path, extra: &Path) {
    let src = format!("{}:/src", project.display());
    let extra_mount = format!("{}:/extra", extra.display());

    // --- a host file, read through a bind mount of its host path -------------------------
    let out = run(
        &mut env.docker(&["run", "--rm", "-v", &src, image, "cat", "/src/file"]),
        &format!("{method}: docker run -v cat"),
    );
    assert_eq!(out, "hello from the host\n", "{method}");
    // The bind mount really is the share of this method (the container's mount table).
    let mounts = run(
        &mut env.docker(&["run", "--rm", "-v", &src, image, "cat", "/proc/mounts"]),
        &format!("{method}: docker run -v cat /proc/mounts"),
    );
    let fstype = mounts
        .lines()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .find(|f| f.get(1) == Some(&"/src"))
        .and_then(|f| f.get(2).map(|t| t.to_string()));
    assert_eq!(fstype.as_deref(), Some(method), "{mounts}");
    let out = run(
        &mut env.docker(&[
            "run",
            "--rm",
            "-v",
            &extra_mount,
            image,
            "cat",
            "/extra/note",
        ]),
        &format!("{method}: docker run -v (extra folder) cat"),
    );
    assert_eq!(out, "extra folder\n", "{method}");

    // --- what a container (root in the guest) writes belongs to the share's owner --------
    run(
        &mut env.docker(&[
            "run",
            "--rm",
            "-v",
            &src,
            image,
            "sh",
            "-c",
            "echo written in a container > /src/out && mkdir /src/dir && echo x > /src/dir/f",
        ]),
        &format!("{method}: docker run -v write"),
    );
    assert_eq!(
        read(&project.join("out")).as_deref(),
        Some("written in a container\n"),
        "{method}"
    );
    for path in [
        project.join("out"),
        project.join("dir"),
        project.join("dir/f"),
    ] {
        assert_eq!(owner_of(&path), OWNER, "{method}: {}", path.display());
    }

    // --- changes on either side are seen on the other while a container runs -------------
    let id = run(
        &mut env.docker(&["run", "-d", "-v", &src, image, "sleep", "600"]),
        &format!("{method}: docker run -d -v"),
    );
    let id = id.trim().to_owned();
    let exec = |script: &str| -> Option<String> {
        let out = env
            .docker(&["exec", &id, "sh", "-c", script])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    std::fs::write(project.join("file"), "changed on the host\n").unwrap();
    std::fs::write(project.join("new"), "new on the host\n").unwrap();
    wait_until(SEEN_DEADLINE, "the host's change in the container", || {
        exec("cat /src/file /src/new").filter(|o| o == "changed on the host\nnew on the host\n")
    })
    .unwrap();
    exec("echo changed in the container > /src/file && rm /src/new && mv /src/out /src/moved")
        .expect("docker exec write");
    wait_until(SEEN_DEADLINE, "the container's change on the host", || {
        (read(&project.join("file")).as_deref() == Some("changed in the container\n")
            && !project.join("new").exists()
            && !project.join("out").exists()
            && project.join("moved").exists())
        .then_some(())
    })
    .unwrap();
    std::fs::remove_file(project.join("moved")).unwrap();
    wait_until(SEEN_DEADLINE, "a host-side delete in the container", || {
        exec("test ! -e /src/moved && echo gone").filter(|o| o.trim() == "gone")
    })
    .unwrap();
    run(&mut env.docker(&["rm", "-f", &id]), "docker rm -f");
}
