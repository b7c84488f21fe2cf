//! The bundle configs are read only by Tauri's bundler (and `installer/build-deb.sh`), and the
//! macOS and Windows ones can only be built on those systems. These tests check them here:
//! each one, merged over `src-tauri/tauri.conf.json` the way `cargo tauri build --config`
//! merges (RFC 7396), must be a valid Tauri config (its types deny unknown fields), every file
//! it names that is not a build product must exist, and the .deb layout must be where the code
//! that runs from it looks (the guest image beside `/usr/bin/berth`, the agent beside it).

use std::path::{Path, PathBuf};

use serde_json::Value;
use tauri_utils::config::Config;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Paths in a Tauri config are relative to the app's folder.
fn app_dir() -> PathBuf {
    repo().join("src-tauri")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// RFC 7396 JSON merge patch, what Tauri applies for `--config` and platform files.
fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let object = target.as_object_mut().expect("an object");
            for (key, value) in fields {
                if value.is_null() {
                    object.remove(key);
                } else {
                    merge(object.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn merged(platform: &str) -> (Value, Config) {
    let mut value = read_json(&app_dir().join("tauri.conf.json"));
    let patch = read_json(&repo().join(format!("installer/tauri.{platform}.conf.json")));
    merge(&mut value, &patch);
    let config: Config = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("tauri.{platform}.conf.json is not a valid Tauri config: {e}"));
    (value, config)
}

/// Build products (binaries, the guest image) appear only after a build; everything else a
/// config names is in the repository and must exist now.
fn is_build_product(path: &str) -> bool {
    path.starts_with("../target/") || path.starts_with("../vm-image/out/")
}

fn assert_exists(platform: &str, path: &str) {
    if !is_build_product(path) {
        let full = app_dir().join(path);
        assert!(
            full.exists(),
            "tauri.{platform}.conf.json names {path}, which does not exist"
        );
    }
}

fn named_files(value: &Value) -> Vec<String> {
    let bundle = &value["bundle"];
    let mut paths = Vec::new();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    paths.extend(strings(&bundle["icon"]));
    if let Some(map) = bundle["resources"].as_object() {
        paths.extend(map.keys().cloned());
    }
    if let Some(map) = bundle["linux"]["deb"]["files"].as_object() {
        paths.extend(map.values().filter_map(|v| v.as_str().map(String::from)));
    }
    for key in ["desktopTemplate", "postInstallScript", "preRemoveScript"] {
        if let Some(p) = bundle["linux"]["deb"][key].as_str() {
            paths.push(p.into());
        }
    }
    paths.extend(strings(&bundle["windows"]["wix"]["fragmentPaths"]));
    for key in ["installerHooks", "installerIcon"] {
        if let Some(p) = bundle["windows"]["nsis"][key].as_str() {
            paths.push(p.into());
        }
    }
    paths
}

#[test]
fn every_bundle_config_is_a_valid_tauri_config() {
    for platform in ["linux", "macos", "windows"] {
        let (value, config) = merged(platform);
        assert!(config.bundle.active, "{platform}: bundling is on");
        assert_eq!(config.identifier, "dev.berth.app");
        for path in named_files(&value) {
            assert_exists(platform, &path);
        }
    }
}

#[test]
fn each_platform_builds_its_own_bundles_and_no_appimage() {
    let targets = |platform| {
        let (value, _) = merged(platform);
        value["bundle"]["targets"].clone()
    };
    assert_eq!(targets("linux"), serde_json::json!(["deb"]));
    assert_eq!(targets("macos"), serde_json::json!(["app", "dmg"]));
    assert_eq!(targets("windows"), serde_json::json!(["msi", "nsis"]));
}

#[test]
fn the_mac_and_windows_bundles_ship_the_three_host_binaries() {
    for platform in ["macos", "windows"] {
        let (_, config) = merged(platform);
        let bins: Vec<String> = config
            .bundle
            .external_bin
            .unwrap_or_default()
            .iter()
            .filter_map(|p| Path::new(p).file_name()?.to_str().map(String::from))
            .collect();
        assert_eq!(
            bins,
            ["berth", "docker-credential-berth", "berth-compose"],
            "{platform}"
        );
    }
}

fn deb_files() -> Vec<(PathBuf, String)> {
    let (value, _) = merged("linux");
    value["bundle"]["linux"]["deb"]["files"]
        .as_object()
        .expect("bundle.linux.deb.files")
        .iter()
        .map(|(dest, src)| (PathBuf::from(dest), src.as_str().unwrap_or_default().into()))
        .collect()
}

#[test]
fn the_deb_puts_the_guest_image_where_the_installed_berth_looks() {
    let files = deb_files();
    for (dest, _) in &files {
        assert!(dest.is_absolute(), "{} is absolute", dest.display());
    }
    let installed = |p: &Path| files.iter().any(|(dest, _)| dest == p);
    let berth = Path::new("/usr/bin/berth");
    assert!(installed(berth));
    // berth-vm's own search, minus the override variable and the source tree.
    let image_dir = berth_vm::image::candidate_dirs(Some(berth))
        .into_iter()
        .find(|d| d.starts_with("/usr"))
        .expect("a candidate beside the installed binary");
    for name in [
        berth_vm::image::KERNEL,
        berth_vm::image::BASE_INITRD,
        berth_vm::image::ROOTFS,
        berth_vm::image::MANIFEST,
    ] {
        assert!(
            installed(&image_dir.join(name)),
            "the .deb ships {}",
            image_dir.join(name).display()
        );
    }
    // berth-daemon runs the agent found beside `berth`.
    assert!(installed(Path::new("/usr/bin/berth-agent")));
    assert!(installed(Path::new("/usr/bin/docker-credential-berth")));
}

/// The app bundles' resources land where berth-vm looks beside the installed binary: the Mac's
/// `Contents/Resources/vm-image/aarch64` (kernel, initrd, erofs root) and Windows'
/// `<install dir>\vm-image\x86_64` (the WSL root tarball), each with the guest agent.
#[test]
fn the_mac_and_windows_bundles_put_the_guest_where_berth_looks() {
    let cases: [(&str, &str, &str, &[&str]); 2] = [
        (
            "macos",
            "aarch64",
            "/Applications/Berth.app/Contents/MacOS/berth",
            &[
                berth_vm::image::KERNEL,
                berth_vm::image::BASE_INITRD,
                berth_vm::image::ROOTFS,
                berth_vm::image::MANIFEST,
            ],
        ),
        (
            "windows",
            "x86_64",
            "/Program Files/Berth/berth.exe",
            &[berth_vm::image::WSL_ROOTFS, berth_vm::image::MANIFEST],
        ),
    ];
    for (platform, arch, exe, needed) in cases {
        let (value, _) = merged(platform);
        let resources = value["bundle"]["resources"]
            .as_object()
            .unwrap_or_else(|| panic!("{platform}: bundle.resources"));
        let shipped: Vec<&str> = resources.values().filter_map(|v| v.as_str()).collect();
        // Tauri puts resources under Contents/Resources (macOS) or beside the exe (Windows).
        let root = Path::new(exe).parent().unwrap();
        let root = if platform == "macos" {
            root.parent().unwrap().join("Resources")
        } else {
            root.to_path_buf()
        };
        let host_arch_dir = berth_vm::image::candidate_dirs(Some(Path::new(exe)))
            .into_iter()
            .find(|d| d.starts_with(&root))
            .unwrap_or_else(|| panic!("{platform}: berth-vm looks under {}", root.display()));
        let dir = host_arch_dir.with_file_name(arch);
        for name in needed.iter().copied().chain(["berth-agent"]) {
            let rel = dir.join(name);
            let rel = rel
                .strip_prefix(&root)
                .unwrap()
                .to_str()
                .unwrap()
                .replace('\\', "/");
            assert!(
                shipped.contains(&rel.as_str()),
                "{platform} ships {rel}: {shipped:?}"
            );
        }
    }
}

#[test]
fn the_deb_compose_plugin_is_where_setup_finds_it() {
    let files = deb_files();
    let plugin = files
        .iter()
        .find(|(_, src)| src.ends_with("/berth-compose"))
        .map(|(dest, _)| dest.clone())
        .expect("the .deb ships berth-compose");
    // Install::beside("/usr/bin/berth") prefers <prefix>/lib/berth/docker-compose.
    assert_eq!(plugin, Path::new("/usr/lib/berth/docker-compose"));
}

/// `apt install ./berth_*.deb` brings every host program `berth start` runs: the packages the
/// Linux backend names in its missing-tool errors are the .deb's dependencies.
#[test]
fn the_deb_depends_on_every_package_the_linux_backend_runs() {
    let (value, _) = merged("linux");
    let depends: Vec<&str> = value["bundle"]["linux"]["deb"]["depends"]
        .as_array()
        .expect("bundle.linux.deb.depends")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let config = berth_vm::VmConfig {
        cpus: 2,
        memory_mib: 2048,
        disk_gib: 64,
        image: berth_vm::GuestImage {
            dir: dir.path().join("image"),
            arch: "x86_64".into(),
            kernel_cmdline: String::new(),
            hash: String::new(),
            docker_version: None,
        },
        agent: dir.path().join("berth-agent"),
        run_dir: dir.path().join("run"),
        data_dir: dir.path().join("data"),
        logs_dir: dir.path().join("logs"),
        shares: Vec::new(),
        backend: berth_vm::VmBackend::Qemu,
        link: berth_vm::VmLink::Auto,
    };
    let qemu = berth_vm::qemu::QemuHypervisor::new(
        config,
        berth_vm::qemu::Accel::Tcg { tb_size_mib: 256 },
        std::sync::Arc::new(berth_vm::process::RecordingRunner::new()),
    );
    let tools = berth_vm::Hypervisor::host_tools(&qemu);
    assert!(tools.len() >= 2, "{tools:?}");
    for tool in tools {
        let package = tool.package.expect("each tool names its package");
        assert!(
            depends.contains(&package.as_str()),
            "{} comes from {package}, which the .deb does not depend on: {depends:?}",
            tool.program
        );
    }
}

#[test]
fn merge_follows_rfc_7396() {
    let mut target = serde_json::json!({"a": {"b": 1, "c": 2}, "d": [1]});
    merge(
        &mut target,
        &serde_json::json!({"a": {"b": null, "e": 3}, "d": [2]}),
    );
    assert_eq!(target, serde_json::json!({"a": {"c": 2, "e": 3}, "d": [2]}));
}
