use super::*;

struct Dir(tempfile::TempDir);

impl Dir {
    fn new(name: &str) -> Self {
        let d = tempfile::Builder::new().prefix(name).tempdir().unwrap();
        Self(d)
    }
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
    fn opts(&self, files: &[&str]) -> LoadOptions {
        LoadOptions {
            files: files.iter().map(PathBuf::from).collect(),
            working_dir: self.0.path().to_path_buf(),
            environment: [("HOME".to_string(), "/home/u".to_string())].into(),
            ..Default::default()
        }
    }
}

fn load_one(text: &str) -> Result<Project, LoadError> {
    let d = Dir::new("proj");
    d.write("compose.yaml", text);
    let mut o = d.opts(&["compose.yaml"]);
    o.project_name = Some("p".into());
    load(&o)
}

fn err_of(text: &str) -> String {
    load_one(text).unwrap_err().to_string()
}

#[test]
fn two_service_project_with_long_and_short_syntax() {
    let p = load_one(
            "services:\n  web:\n    image: busybox\n    command: httpd -f -p 80\n    ports: ['8080:80', {target: 443, published: '8443', host_ip: 127.0.0.1}]\n    volumes: ['./data:/data:ro', 'cache:/cache', {type: tmpfs, target: /tmp, tmpfs: {size: 1m}}]\n    depends_on:\n      db: {condition: service_healthy}\n    environment: [A=1, B]\n    networks: {front: {aliases: [www]}}\n  db:\n    image: busybox\n    healthcheck: {test: test -f /tmp/ready, interval: 1s, retries: 30}\n    environment: {X: 1, Y: true}\nvolumes:\n  cache: {}\nnetworks:\n  front:\n",
        )
        .unwrap();
    let web = &p.services["web"];
    assert_eq!(web.command.as_deref().unwrap(), ["httpd", "-f", "-p", "80"]);
    assert_eq!(web.ports.len(), 2);
    assert_eq!(web.ports[1].published.as_deref(), Some("8443"));
    assert_eq!(web.volumes[0].kind, MountType::Bind);
    assert!(web.volumes[0].read_only);
    assert!(web.volumes[0].source.as_deref().unwrap().ends_with("/data"));
    assert!(Path::new(web.volumes[0].source.as_deref().unwrap()).is_absolute());
    assert_eq!(web.volumes[1].kind, MountType::Volume);
    assert_eq!(web.volumes[2].tmpfs_size, Some(1024 * 1024));
    assert_eq!(web.depends_on["db"].condition, Condition::ServiceHealthy);
    assert_eq!(web.environment["A"].as_deref(), Some("1"));
    assert_eq!(web.environment["B"], None);
    assert_eq!(web.networks["front"].as_ref().unwrap().aliases, ["www"]);
    let db = &p.services["db"];
    assert_eq!(db.environment["Y"].as_deref(), Some("true"));
    assert_eq!(
        db.healthcheck.as_ref().unwrap().test,
        ["CMD-SHELL", "test -f /tmp/ready"]
    );
    assert_eq!(db.networks.keys().collect::<Vec<_>>(), ["default"]);
    assert_eq!(p.networks["default"].name, "p_default");
    assert_eq!(p.networks["front"].name, "p_front");
    assert_eq!(p.volumes["cache"].name, "p_cache");
    let order: Vec<&str> = p
        .services_in_dependency_order()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(order, ["db", "web"]);
    assert!(p.to_yaml().contains("condition: service_healthy"));
}

#[test]
fn interpolates_from_dotenv_and_environment() {
    let d = Dir::new("interp");
    d.write(".env", "TAG=1.0\nPORT=80\nCOMPOSE_PROJECT_NAME=fromenv\n");
    d.write(
            "compose.yaml",
            "services:\n  web:\n    image: \"busybox:${TAG}\"\n    ports: [\"${PORT}:${INNER:-8080}\"]\n    command: echo $$HOME ${MISSING}\n",
        );
    let mut o = d.opts(&["compose.yaml"]);
    o.environment.insert("PORT".into(), "9000".into());
    let p = load(&o).unwrap();
    assert_eq!(p.name, "fromenv");
    let web = &p.services["web"];
    assert_eq!(web.image.as_deref(), Some("busybox:1.0"));
    assert_eq!(web.ports[0].published.as_deref(), Some("9000"));
    assert_eq!(web.ports[0].target, 8080);
    assert_eq!(web.command.as_deref().unwrap(), ["echo", "$HOME"]);
    assert!(p.warnings.iter().any(|w| w.contains("MISSING")));
}

#[test]
fn required_variable_error_names_file_line_and_field() {
    let e = err_of("services:\n  web:\n    image: ${IMAGE:?set IMAGE}\n");
    assert!(e.contains("compose.yaml:3: services.web.image: required variable IMAGE is missing a value: set IMAGE"), "{e}");
}

#[test]
fn merges_files_in_order() {
    let d = Dir::new("merge");
    d.write(
        "compose.yaml",
        "services:\n  web:\n    image: a\n    environment: {A: '1'}\n    ports: ['80:80']\n",
    );
    d.write(
            "prod.yaml",
            "services:\n  web:\n    image: b\n    environment: [B=2]\n    ports: ['443:443']\n  cache:\n    image: redis\n",
        );
    let p = load(&d.opts(&["compose.yaml", "prod.yaml"])).unwrap();
    let web = &p.services["web"];
    assert_eq!(web.image.as_deref(), Some("b"));
    assert_eq!(web.environment.len(), 2);
    assert_eq!(web.ports.len(), 2);
    assert!(p.services.contains_key("cache"));
    assert_eq!(p.config_files.len(), 2);
}

#[test]
fn default_files_and_override_are_found() {
    let d = Dir::new("defaults");
    d.write("compose.yaml", "services:\n  a:\n    image: x\n");
    d.write("compose.override.yaml", "services:\n  a:\n    image: y\n");
    let mut o = d.opts(&[]);
    o.working_dir = d.0.path().join("sub");
    std::fs::create_dir_all(&o.working_dir).unwrap();
    let p = load(&o).unwrap();
    assert_eq!(p.services["a"].image.as_deref(), Some("y"));
}

#[test]
fn profiles_enable_services() {
    let text = "services:\n  web:\n    image: x\n  debug:\n    image: y\n    profiles: [dev]\n";
    let p = load_one(text).unwrap();
    assert_eq!(p.services.keys().collect::<Vec<_>>(), ["web"]);
    assert_eq!(p.disabled, ["debug"]);
    let d = Dir::new("prof");
    d.write("compose.yaml", text);
    let mut o = d.opts(&["compose.yaml"]);
    o.profiles = vec!["dev".into()];
    assert_eq!(load(&o).unwrap().services.len(), 2);
    let mut o = d.opts(&["compose.yaml"]);
    o.environment
        .insert("COMPOSE_PROFILES".into(), "dev".into());
    assert_eq!(load(&o).unwrap().services.len(), 2);
    let mut o = d.opts(&["compose.yaml"]);
    o.services = vec!["debug".into()];
    assert_eq!(load(&o).unwrap().services.len(), 2);
    let e = err_of("services:\n  web:\n    image: x\n    depends_on: [debug]\n  debug:\n    image: y\n    profiles: [dev]\n");
    assert!(e.contains("which is disabled by its profiles"), "{e}");
}

#[test]
fn extends_in_file_and_from_another_file() {
    let d = Dir::new("ext");
    d.write(
            "common/base.yaml",
            "services:\n  base:\n    image: busybox\n    build: ./ctx\n    environment: {A: '1', B: '1'}\n",
        );
    d.write(
            "compose.yaml",
            "services:\n  web:\n    extends: {file: common/base.yaml, service: base}\n    environment: {B: '2'}\n  worker:\n    extends: web\n    command: [work]\n",
        );
    let p = load(&d.opts(&["compose.yaml"])).unwrap();
    let web = &p.services["web"];
    assert_eq!(web.environment["A"].as_deref(), Some("1"));
    assert_eq!(web.environment["B"].as_deref(), Some("2"));
    assert!(web.build.as_ref().unwrap().context.ends_with("common/ctx"));
    let worker = &p.services["worker"];
    assert_eq!(worker.image.as_deref(), Some("busybox"));
    assert_eq!(worker.command.as_deref().unwrap(), ["work"]);
    let e = err_of(
        "services:\n  a:\n    image: x\n    extends: b\n  b:\n    image: x\n    extends: a\n",
    );
    assert!(e.contains("circular extends"), "{e}");
}

#[test]
fn env_file_values_yield_to_environment() {
    let d = Dir::new("envfile");
    d.write("web.env", "A=from-file\nB=from-file\n# c\n");
    d.write(
            "compose.yaml",
            "services:\n  web:\n    image: x\n    env_file: [web.env, {path: missing.env, required: false}]\n    environment: {B: explicit}\n",
        );
    let p = load(&d.opts(&["compose.yaml"])).unwrap();
    let env = &p.services["web"].environment;
    assert_eq!(env["A"].as_deref(), Some("from-file"));
    assert_eq!(env["B"].as_deref(), Some("explicit"));
    d.write(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    env_file: nope.env\n",
    );
    let e = load(&d.opts(&["compose.yaml"])).unwrap_err().to_string();
    assert!(
        e.contains("compose.yaml:4: services.web.env_file: cannot read"),
        "{e}"
    );
}

#[test]
fn project_name_sources_and_normalization() {
    assert_eq!(normalize_project_name("My App.v2"), "myappv2");
    assert_eq!(normalize_project_name("__x-Y_z"), "x-y_z");
    assert_eq!(normalize_project_name("!!!"), "");
    let d = Dir::new("Dir_Name.With");
    d.write("compose.yaml", "services:\n  a:\n    image: x\n");
    let p = load(&d.opts(&["compose.yaml"])).unwrap();
    assert!(p.name.starts_with("dir_namewith"), "{}", p.name);
    d.write("compose.yaml", "name: top\nservices:\n  a:\n    image: x\n");
    assert_eq!(load(&d.opts(&["compose.yaml"])).unwrap().name, "top");
    let mut o = d.opts(&["compose.yaml"]);
    o.environment
        .insert("COMPOSE_PROJECT_NAME".into(), "envname".into());
    assert_eq!(load(&o).unwrap().name, "envname");
    o.project_name = Some("flag".into());
    assert_eq!(load(&o).unwrap().name, "flag");
    o.project_name = Some("Bad Name".into());
    assert!(load(&o)
        .unwrap_err()
        .to_string()
        .contains("invalid project name"));
}

#[test]
fn error_cases_say_what_and_where() {
    let cases = [
            ("services:\n  web:\n    image: x\n    depends_on: [nope]\n", "compose.yaml:4: services.web.depends_on: service \"web\" depends on undefined service \"nope\""),
            ("services:\n  web:\n    image: x\n    networks: [nope]\n", "services.web.networks: service \"web\" refers to undefined network \"nope\""),
            ("services:\n  web:\n    image: x\n    volumes: ['data:/d']\n", "refers to undefined volume \"data\""),
            ("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n", "dependency cycle detected: a -> b -> a"),
            ("services:\n  web:\n    image: x\n    ports: ['abc']\n", "compose.yaml:4: services.web.ports[0]: invalid port specification \"abc\""),
            ("services:\n  web:\n    image: x\n    bogus: 1\n", "compose.yaml:4: services.web.bogus: unknown attribute"),
            ("services:\n  web:\n    image: x\n    volumes_from: [x]\n", "compose.yaml:4: services.web.volumes_from: service \"web\" mounts the volumes of undefined service \"x\""),
            ("services:\n  web:\n    command: x\n", "compose.yaml:3: services.web: service has neither an image nor a build context specified"),
            ("services:\n  web:\n    image: x\n    restart: sometimes\n", "invalid restart policy"),
            ("services:\n  web:\n    image: x\n    healthcheck: {interval: soon}\n", "services.web.healthcheck.interval: invalid duration"),
            ("services:\n  web:\n    image: x\n    privileged: maybe\n", "must be a boolean"),
            ("services:\n  web:\n    image: [x]\n", "services.web.image: must be a string"),
            ("services:\n  web: {image: x\n", "compose.yaml:"),
            ("- a\n- b\n", "a compose file must be a mapping"),
            ("services:\n  web:\n    image: $\n", "invalid interpolation format"),
            ("include: [other.yaml]\nservices: {}\n", "compose.yaml:1: include[0]: cannot include"),
            ("services:\n  web:\n    image: x\n    cpus: lots\n", "compose.yaml:4: services.web.cpus: invalid number of CPUs \"lots\""),
            ("services:\n  web:\n    image: x\n    mem_limit: 12q\n", "compose.yaml:4: services.web.mem_limit: invalid byte size \"12q\""),
            ("services:\n  web:\n    image: x\n    deploy: {resources: {limits: {memory: much}}}\n", "compose.yaml:4: services.web.deploy.resources.limits.memory: invalid byte size"),
            ("services:\n  web:\n    image: x\n    stop_grace_period: later\n", "compose.yaml:4: services.web.stop_grace_period: invalid duration"),
            ("services:\n  web:\n    image: x\n    ports: ['70000-70001:80-81']\n", "services.web.ports[0]: invalid port specification"),
            ("services:\n  web:\n    image: x\n    ports: [{target: 80, published: 9-1}]\n", "services.web.ports[0].published: invalid published port"),
            ("services:\n  web:\n    image: x\n    oom_score_adj: 5000\n", "compose.yaml:4: services.web.oom_score_adj: must be between -1000 and 1000"),
            ("services:\n  web:\n    image: x\n    restart: on-failure:x\n", "invalid restart policy"),
            ("services:\n  web:\n    image: x\n    develop: {}\n", "compose.yaml:4: services.web.develop: not supported by berth: `berth compose watch` is not implemented yet"),
            ("services:\n  web:\n    image: x\n    volumes: ['data:/d:z']\nvolumes: {data: {}}\n", "SELinux relabelling (z/Z) applies to bind mounts only"),
            ("services:\n  web:\n    image: x\n    pull_policy: daily\n", "services.web.pull_policy: not supported by berth"),
            ("services:\n  web:\n    image: x\nsecrets:\n  t: {environment: NOPE_UNSET}\n", "compose.yaml:5: secrets.t.environment: the variable NOPE_UNSET is not set"),
            ("services:\n  web:\n    image: x\n    secrets: [{source: t, uid: root}]\nsecrets:\n  t: {content: x}\n", "services.web.secrets[0].uid: must be a numeric id"),
            ("services:\n  web:\n    image: x\n    configs: [{source: t, mode: '999'}]\nconfigs:\n  t: {content: x}\n", "services.web.configs[0].mode: invalid file mode"),
            ("models:\n  m: {model: ai/x}\nservices: {}\n", "compose.yaml:2: models: not supported by berth: AI models"),
            ("services:\n  web:\n    build: {context: ., platforms: [linux/amd64, linux/arm64]}\n", "compose.yaml:3: services.web.build.platforms: not supported by berth: a multi-platform build needs BuildKit"),
            ("services:\n  web:\n    build: {context: ., shm_size: huge}\n", "services.web.build.shm_size: invalid byte size"),
            ("services:\n  web:\n    image: x\n    cpus: 1\n    deploy: {resources: {limits: {cpus: '2'}}}\n", "compose.yaml:5: services.web.deploy.resources.limits.cpus: \"2\" differs from the service's cpus \"1\""),
            ("services:\n  web:\n    image: x\n    pids_limit: 5\n    deploy: {resources: {limits: {pids: 6}}}\n", "services.web.deploy.resources.limits.pids: 6 differs from the service's pids_limit 5"),
        ];
    for (text, want) in cases {
        let e = err_of(text);
        assert!(e.contains(want), "{text:?}\n got: {e}\nwant: {want}");
    }
}

#[test]
fn anchors_and_merge_keys_in_compose_files() {
    let p = load_one(
            "x-common: &common\n  image: busybox\n  environment: {A: '1'}\nservices:\n  a:\n    <<: *common\n  b:\n    <<: *common\n    image: other\n",
        )
        .unwrap();
    assert_eq!(p.services["a"].image.as_deref(), Some("busybox"));
    assert_eq!(p.services["b"].image.as_deref(), Some("other"));
    assert_eq!(p.services["b"].environment["A"].as_deref(), Some("1"));
}

#[test]
fn ulimits_devices_and_namespaces() {
    let p = load_one(
            "services:\n  s:\n    image: x\n    ulimits:\n      nproc: 65535\n      nofile: {soft: 1024, hard: 2048}\n    devices: ['/dev/fuse']\n    pid: host\n",
        )
        .unwrap();
    let s = &p.services["s"];
    assert_eq!(
        s.ulimits["nproc"],
        Ulimit {
            soft: 65535,
            hard: 65535
        }
    );
    assert_eq!(
        s.ulimits["nofile"],
        Ulimit {
            soft: 1024,
            hard: 2048
        }
    );
    assert_eq!(s.devices, ["/dev/fuse"]);
    assert_eq!(s.pid.as_deref(), Some("host"));
    let e = err_of("services:\n  s:\n    image: x\n    ulimits:\n      nofile: {soft: 1}\n");
    assert!(
        e.contains("compose.yaml:5: services.s.ulimits.nofile: missing `hard`"),
        "{e}"
    );
}

#[test]
fn replicas_secrets_and_obsolete_version() {
    let d = Dir::new("sec");
    d.write("pw.txt", "secret");
    d.write(
            "compose.yaml",
            "version: '3.8'\nservices:\n  web:\n    image: x\n    deploy: {replicas: 3}\n    secrets: [pw]\nsecrets:\n  pw: {file: ./pw.txt}\n",
        );
    let p = load(&d.opts(&["compose.yaml"])).unwrap();
    assert_eq!(p.services["web"].replicas(), 3);
    assert_eq!(p.services["web"].secrets[0].target, "/run/secrets/pw");
    assert!(p.secrets["pw"].file.as_deref().unwrap().ends_with("pw.txt"));
    assert!(p.warnings.iter().any(|w| w.contains("obsolete")));
}

#[test]
fn include_loads_each_application_in_its_own_directory() {
    let d = Dir::new("inc");
    d.write(
        "compose.yaml",
        "name: top\ninclude:\n  - lib/compose.yaml\n  - path: [other/a.yaml, other/b.yaml]\n    env_file: other/vars.env\nservices:\n  web:\n    image: busybox\n    depends_on: [db, cache]\n    volumes_from: [db:ro]\n",
    );
    d.write(
        "lib/compose.yaml",
        "include: [nested/compose.yaml]\nservices:\n  db:\n    image: ${DB_IMAGE:-postgres}\n    env_file: db.env\n    volumes: ['./data:/data', 'store:/store']\nvolumes:\n  store: {}\n",
    );
    d.write("lib/.env", "DB_IMAGE=mariadb\n");
    d.write("lib/db.env", "A=1\n");
    d.write(
        "lib/nested/compose.yaml",
        "services:\n  side:\n    build: ctx\n",
    );
    d.write("other/a.yaml", "services:\n  cache:\n    image: ${CACHE}\n");
    d.write(
        "other/b.yaml",
        "services:\n  cache:\n    command: [serve]\n",
    );
    d.write("other/vars.env", "CACHE=redis\n");
    let p = load(&d.opts(&["compose.yaml"])).unwrap();
    let root = d.0.path().display().to_string();
    assert_eq!(p.name, "top");
    let db = &p.services["db"];
    assert_eq!(db.image.as_deref(), Some("mariadb"));
    assert_eq!(db.environment["A"].as_deref(), Some("1"));
    assert_eq!(
        db.volumes[0].source.as_deref(),
        Some(format!("{root}/lib/data").as_str())
    );
    assert_eq!(p.volumes["store"].name, "top_store");
    assert_eq!(
        p.services["side"].build.as_ref().unwrap().context,
        format!("{root}/lib/nested/ctx")
    );
    let cache = &p.services["cache"];
    assert_eq!(cache.image.as_deref(), Some("redis"));
    assert_eq!(cache.command.as_deref(), Some(&["serve".to_string()][..]));
    assert_eq!(p.services["web"].volumes_from, ["db:ro"]);
}

#[test]
fn include_cycles_and_conflicts_are_named() {
    let d = Dir::new("inccycle");
    d.write("compose.yaml", "include: [a/compose.yaml]\nservices: {}\n");
    d.write("a/compose.yaml", "include: [../b.yaml]\nservices: {}\n");
    d.write("b.yaml", "include: [a/compose.yaml]\n");
    let e = load(&d.opts(&["compose.yaml"])).unwrap_err().to_string();
    assert!(e.contains("include cycle:"), "{e}");
    assert!(
        e.contains("a/compose.yaml -> ") && e.contains("b.yaml"),
        "{e}"
    );

    let d = Dir::new("incconflict");
    d.write(
        "compose.yaml",
        "include: [other.yaml]\nnetworks:\n  back: {}\nservices:\n  web: {image: x}\n",
    );
    d.write("other.yaml", "networks:\n  back: {internal: true}\n");
    let e = load(&d.opts(&["compose.yaml"])).unwrap_err();
    assert_eq!(e.field(), Some("include[0]"));
    assert_eq!(e.line(), Some(1));
    let text = e.to_string();
    assert!(
        text.contains("networks.back from")
            && text.contains("other.yaml:2")
            && text.contains("compose.yaml:3"),
        "{text}"
    );
    let d = Dir::new("incbad");
    d.write(
        "compose.yaml",
        "include: [{project_directory: x}]\nservices: {}\n",
    );
    assert!(load(&d.opts(&["compose.yaml"]))
        .unwrap_err()
        .to_string()
        .contains("include[0]: missing `path`"));
}

#[test]
fn label_files_and_volumes_from_and_namespaces() {
    let d = Dir::new("labels");
    d.write(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    label_file: [a.labels]\n    labels: {k: mine}\n    ipc: service:b\n  b:\n    image: x\n    volumes_from: [container:legacy]\n",
    );
    d.write("a.labels", "k=file\nother=yes\n");
    let p = load(&d.opts(&["compose.yaml"])).unwrap();
    let a = &p.services["a"];
    assert_eq!(a.labels["k"], "mine");
    assert_eq!(a.labels["other"], "yes");
    assert_eq!(a.dependencies().collect::<Vec<_>>(), ["b"]);
    assert_eq!(p.services["b"].dependencies().count(), 0);
    d.write(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    label_file: nope.labels\n",
    );
    let e = load(&d.opts(&["compose.yaml"])).unwrap_err().to_string();
    assert!(
        e.contains("compose.yaml:4: services.a.label_file: cannot read"),
        "{e}"
    );
}

#[test]
fn compose_env_files_and_disable_env_file() {
    let d = Dir::new("envfiles");
    d.write("compose.yaml", "services:\n  a:\n    image: ${IMG:-none}\n");
    d.write(".env", "IMG=from-dotenv\n");
    d.write("one.env", "IMG=from-one\n");
    d.write("two.env", "IMG=from-two\n");
    let image = |extra: &[(&str, &str)]| {
        let mut o = d.opts(&["compose.yaml"]);
        for (k, v) in extra {
            o.environment.insert(k.to_string(), v.to_string());
        }
        load(&o).unwrap().services["a"].image.clone().unwrap()
    };
    assert_eq!(image(&[]), "from-dotenv");
    assert_eq!(
        image(&[("COMPOSE_ENV_FILES", "one.env,two.env")]),
        "from-two"
    );
    assert_eq!(image(&[("COMPOSE_DISABLE_ENV_FILE", "true")]), "none");
    let mut o = d.opts(&["compose.yaml"]);
    o.env_files = vec!["one.env".into()];
    o.environment
        .insert("COMPOSE_ENV_FILES".into(), "two.env".into());
    assert_eq!(
        load(&o).unwrap().services["a"].image.as_deref(),
        Some("from-one")
    );
}
