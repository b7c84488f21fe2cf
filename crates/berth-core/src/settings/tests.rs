use super::*;

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("settings.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_missing_file_means_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::load(&dir.path().join("settings.toml")).unwrap();
    assert_eq!(settings, Settings::default());
    settings.validate().unwrap();
}

#[test]
fn save_then_load_round_trips_and_keeps_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "future_feature = { enabled = true }\n[vm]\ncpus = 4\n",
    );
    let mut settings = Settings::load(&path).unwrap();
    assert_eq!(settings.vm.cpus, 4);
    assert_eq!(settings.vm.memory_mib, 2048, "missing keys take defaults");
    settings.vm.memory_mib = 4096;
    settings.save(&path).unwrap();
    let again = Settings::load(&path).unwrap();
    assert_eq!(again, settings);
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("future_feature"),
        "an unknown key survives a save"
    );
}

#[test]
fn a_wrong_type_names_the_field_and_keeps_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[vm]\ncpus = \"many\"\n";
    let path = write(dir.path(), text);
    let err = Settings::load(&path).unwrap_err();
    match &err {
        SettingsError::Field { field, backup, .. } => {
            assert_eq!(field, "vm.cpus");
            assert_eq!(std::fs::read_to_string(backup).unwrap(), text);
        }
        other => panic!("expected a field error, got {other}"),
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "the original is left in place"
    );
    assert!(err.to_string().contains("vm.cpus"), "{err}");
}

#[test]
fn an_out_of_range_value_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "[vm]\nmemory_mib = 16\n");
    let err = Settings::load(&path).unwrap_err();
    assert!(
        matches!(&err, SettingsError::Field { field, .. } if field == "vm.memory_mib"),
        "{err}"
    );
}

#[test]
fn unknown_nested_keys_are_kept_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "extra = 1\n[vm]\ncpu = 2\n");
    let settings = Settings::load(&path).unwrap();
    assert_eq!(settings.unknown_keys(), ["extra", "vm.cpu"]);
    settings.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("cpu = 2"), "{text}");
}

#[test]
fn broken_toml_reports_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "[vm]\ncpus = = 2\n");
    match Settings::load(&path).unwrap_err() {
        SettingsError::Syntax { line, backup, .. } => {
            assert_eq!(line, 2);
            assert!(backup.exists());
        }
        other => panic!("expected a syntax error, got {other}"),
    }
}

#[test]
fn validate_lists_every_bad_field() {
    let mut settings = Settings::default();
    settings.vm.cpus = 0;
    settings.ports.bind_address = "localhost:80".into();
    settings.engine.endpoint = Some("/var/run/docker.sock".into());
    settings.shared_folders = vec![PathBuf::from("relative")];
    let Err(SettingsError::Invalid { errors }) = settings.validate() else {
        panic!("expected invalid");
    };
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "vm.cpus",
            "ports.bind_address",
            "engine.endpoint",
            "shared_folders[0]"
        ]
    );
}

#[test]
fn save_refuses_invalid_settings_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    let mut settings = Settings::default();
    settings.vm.disk_gib = 1;
    assert!(settings.save(&path).is_err());
    assert!(!path.exists());
}

#[test]
fn line_column_counts_characters_and_never_splits_one() {
    let text = "a = 1\nb = \"\u{e9}\u{1F600}x";
    assert_eq!(line_column(text, 0), (1, 1));
    assert_eq!(line_column(text, 6), (2, 1));
    // é is bytes 11..13 and the emoji 13..17: offsets inside them land on their start.
    assert_eq!(line_column(text, 11), (2, 6));
    assert_eq!(line_column(text, 12), (2, 6));
    assert_eq!(line_column(text, 15), (2, 7));
    assert_eq!(line_column(text, text.len()), (2, 9));
    assert_eq!(line_column(text, usize::MAX), (2, 9));
}

#[test]
fn a_syntax_error_after_multibyte_text_is_reported_not_a_panic() {
    let err = Settings::parse("\\\u{FFFD}{<':X").err();
    assert!(matches!(err, Some(Problem::Syntax { line: 1, .. })));
}

#[test]
fn set_key_parses_checks_and_names_the_field() {
    let mut settings = Settings::default();
    settings.set_key("vm.cpus", "4").unwrap();
    settings.set_key("ports.bind_address", "0.0.0.0").unwrap();
    settings.set_key("app.auto_restart_engine", "true").unwrap();
    // Absolute paths of this OS ("/srv/a" is not one on Windows).
    let folders = if cfg!(windows) {
        r"['C:\srv\a', 'C:\srv\b']"
    } else {
        r#"["/srv/a", "/srv/b"]"#
    };
    settings.set_key("shared_folders", folders).unwrap();
    assert_eq!(settings.vm.cpus, 4);
    assert_eq!(settings.ports.bind_address, "0.0.0.0");
    assert!(settings.app.auto_restart_engine);
    assert_eq!(settings.shared_folders.len(), 2);
    assert_eq!(settings.get_key("vm.cpus").unwrap().as_deref(), Some("4"));
    assert_eq!(
        settings.get_key("ports.bind_address").unwrap().as_deref(),
        Some("0.0.0.0")
    );
    assert_eq!(settings.get_key("engine.endpoint").unwrap(), None);

    let before = settings.clone();
    for (key, value) in [
        ("vm.cpus", "0"),
        ("vm.cpus", "many"),
        ("vm.memory_mib", "16"),
        ("app.on_quit", "explode"),
        ("vm.cpu", "2"),
    ] {
        let err = settings.set_key(key, value).unwrap_err();
        assert!(
            matches!(&err, SettingsError::Invalid { errors } if errors[0].field == key),
            "{key}={value}: {err}"
        );
        assert!(err.to_string().contains(key), "{err}");
    }
    assert_eq!(settings, before, "a refused value changes nothing");
}

#[test]
fn set_key_keeps_unknown_keys_and_unsets_the_endpoint() {
    let Ok(mut settings) = Settings::parse("later = 1\n[vm]\nballoon = true\n") else {
        panic!("the file parses");
    };
    settings
        .set_key("engine.endpoint", "unix:///x.sock")
        .unwrap();
    assert_eq!(settings.engine.endpoint.as_deref(), Some("unix:///x.sock"));
    settings.set_key("engine.endpoint", "").unwrap();
    assert_eq!(settings.engine.endpoint, None);
    settings.set_key("vm.memory_mib", "1536").unwrap();
    assert_eq!(settings.unknown_keys(), ["later", "vm.balloon"]);
}

#[test]
fn the_disk_never_shrinks_and_restart_keys_are_named() {
    let old = Settings::default();
    let mut next = old.clone();
    next.set_key("vm.disk_gib", "32").unwrap();
    let err = old.check_change(&next).unwrap_err();
    assert!(err.to_string().contains("vm.disk_gib"), "{err}");
    assert!(err.to_string().contains("only grow"), "{err}");
    next.set_key("vm.disk_gib", "128").unwrap();
    old.check_change(&next).unwrap();
    next.set_key("vm.cpus", "1").unwrap();
    next.set_key("app.start_at_login", "true").unwrap();
    assert_eq!(old.restart_needed_for(&next), ["vm.cpus", "vm.disk_gib"]);
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = Settings::parse(&text);
    }
}

#[test]
fn pause_when_idle_and_language_are_settings_like_the_others() {
    let mut settings = Settings::default();
    assert_eq!(
        settings
            .get_key("engine.pause_when_idle")
            .unwrap()
            .as_deref(),
        Some("5m")
    );
    assert_eq!(
        settings.get_key("app.language").unwrap().as_deref(),
        Some("system")
    );
    settings.set_key("engine.pause_when_idle", "20s").unwrap();
    settings.set_key("app.language", "ja").unwrap();
    assert_eq!(
        settings.engine.pause_when_idle.duration(),
        Some(std::time::Duration::from_secs(20))
    );
    assert_eq!(settings.app.language, Language::Ja);
    settings.set_key("engine.pause_when_idle", "0").unwrap();
    assert_eq!(settings.engine.pause_when_idle, PauseWhenIdle::OFF);

    let before = settings.clone();
    for (key, value) in [
        ("engine.pause_when_idle", "soon"),
        ("engine.pause_when_idle", "2s"),
        ("app.language", "klingon"),
    ] {
        let err = settings.set_key(key, value).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
    assert_eq!(settings, before);

    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "[engine]\npause_when_idle = \"90s\"\n");
    let loaded = Settings::load(&path).unwrap();
    assert_eq!(loaded.engine.pause_when_idle.to_string(), "90s");
    loaded.save(&path).unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("pause_when_idle = \"90s\""));
}

#[test]
fn backend_and_link_are_checked_together_and_need_a_restart() {
    let old = Settings::default();
    assert_eq!(old.get_key("vm.backend").unwrap().as_deref(), Some("auto"));
    assert_eq!(old.get_key("vm.link").unwrap().as_deref(), Some("auto"));
    let mut next = old.clone();
    next.set_key("vm.link", "vsock").unwrap();
    next.set_key("vm.backend", "qemu").unwrap();
    assert_eq!(next.vm.link, VmLink::Vsock);
    assert_eq!(next.vm.link.resolve(next.vm.backend), LinkKind::Vsock);
    assert_eq!(old.restart_needed_for(&next), ["vm.backend", "vm.link"]);

    let before = next.clone();
    for (key, value) in [("vm.backend", "hyperv"), ("vm.link", "pigeon")] {
        let err = next.set_key(key, value).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
    // A link the backend does not have is refused, whichever of the two changes.
    next.set_key("vm.link", "serial").unwrap();
    let err = next.set_key("vm.backend", "vfkit").unwrap_err();
    assert!(
        matches!(&err, SettingsError::Invalid { errors } if errors[0].field == "vm.link"),
        "{err}"
    );
    next.set_key("vm.link", "auto").unwrap();
    next.set_key("vm.backend", "wsl").unwrap();
    let err = next.set_key("vm.link", "vsock").unwrap_err();
    assert!(err.to_string().contains("stdio"), "{err}");
    assert_eq!(next.vm.link.resolve(next.vm.backend), LinkKind::Stdio);
    assert_ne!(next, before);

    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "[vm]\nbackend = \"vfkit\"\nlink = \"serial\"\n");
    let err = Settings::load(&path).unwrap_err();
    assert!(
        matches!(&err, SettingsError::Field { field, .. } if field == "vm.link"),
        "{err}"
    );
}
