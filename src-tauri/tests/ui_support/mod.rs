//! The UI tier's harness: a private Xvfb display, tauri-driver (which drives the real app
//! through WebKitWebDriver) and a fantoccini client with explicit waits and screenshots.
//! Every process is stopped by its PID when its guard drops.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_testkit::free_port;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

pub const WAIT: Duration = Duration::from_secs(30);

/// Kills a child started as the leader of its own process group, with everything it started
/// (tauri-driver -> WebKitWebDriver -> the app -> WebKit's processes).
fn stop_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A private X server (`Xvfb -displayfd` picks a free display number).
pub struct Display {
    child: Child,
    pub name: String,
}

impl Display {
    pub fn start() -> Display {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb must be installed (apt-get install xvfb)");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("Xvfb stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("Xvfb reports its display");
        let number = line.trim();
        assert!(!number.is_empty(), "Xvfb did not start");
        Display {
            child,
            name: format!(":{number}"),
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn tauri_driver() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let candidate = home.join(".cargo/bin/tauri-driver");
    if candidate.exists() {
        return candidate;
    }
    PathBuf::from("tauri-driver")
}

/// tauri-driver on a free port; the app it launches inherits `envs`.
pub struct Driver {
    child: Child,
    pub port: u16,
}

impl Driver {
    pub fn start(display: &Display, envs: &[(&str, &str)]) -> Driver {
        let port = free_port();
        let native = free_port();
        let mut cmd = Command::new(tauri_driver());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .env("DISPLAY", &display.name)
        .env_remove("WAYLAND_DISPLAY")
        // WebKitGTK under Xvfb: no GPU, no DMA-BUF.
        .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .expect("tauri-driver must be installed (cargo install tauri-driver --locked)");
        let mut driver = Driver { child, port };
        let deadline = Instant::now() + WAIT;
        // tauri-driver listens at once but forwards to WebKitWebDriver, which it starts on the
        // native port: a session asked for before that one listens fails (IncompleteMessage).
        while TcpStream::connect(("127.0.0.1", port)).is_err()
            || TcpStream::connect(("127.0.0.1", native)).is_err()
        {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("tauri-driver exited: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        stop_group(&mut self.child);
    }
}

/// The app under test: Cargo names it for integration tests; examples (benches) find it next
/// to themselves in the target dir.
fn app_binary() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_berth-app") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    profile_dir.join("berth-app")
}

/// The running app, seen through WebDriver.
pub struct App {
    pub client: Client,
    shots: PathBuf,
    display: String,
}

pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("BERTH_UI_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ui-screenshots"))
}

impl App {
    pub async fn launch(driver: &Driver, display: &Display) -> App {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app_binary() }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session with the app");
        let shots = screenshot_dir();
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        App {
            client,
            shots,
            display: display.name.clone(),
        }
    }

    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(Duration::from_millis(25))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(el) => el,
            Err(e) => self.fail(&format!("{css} did not appear: {e}")).await,
        }
    }

    /// Saves what the window shows (screenshot and DOM) next to the screenshots, then fails.
    pub async fn fail(&self, message: &str) -> ! {
        self.capture("FAILED");
        if let Ok(html) = self.client.source().await {
            let _ = std::fs::write(self.shots.join("FAILED.html"), html);
        }
        panic!("{message} (see {}/FAILED.png)", self.shots.display());
    }

    /// Waits until the element matching `css` exists and `pred` holds for its text.
    pub async fn wait_text(&self, css: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        let mut last = String::new();
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = el.text().await {
                    if pred(&text) {
                        return text;
                    }
                    last = text;
                }
            }
            if Instant::now() > deadline {
                self.fail(&format!("{css}: {what}; last text: {last:?}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until no element matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        while self.client.find(Locator::Css(css)).await.is_ok() {
            if Instant::now() > deadline {
                self.fail(&format!("{css} is still there")).await;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.wait_for(css).await;
        el.clear().await.ok();
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    pub async fn go(&self, path: &str) {
        self.client
            .execute(&format!("location.hash = '{path}'"), vec![])
            .await
            .expect("navigate");
    }

    /// Saves the whole display as `<name>.png`. X-level capture (ImageMagick's `import`):
    /// WebKitWebDriver's own screenshot command never answers under Xvfb here.
    pub async fn shot(&self, name: &str) {
        assert!(
            self.capture(name),
            "screenshot {name} failed: is imagemagick installed?"
        );
    }

    fn capture(&self, name: &str) -> bool {
        let path = self.shots.join(format!("{name}.png"));
        Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success())
    }
}

/// Runs a command and returns its trimmed stdout, failing the test with its stderr.
pub fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
