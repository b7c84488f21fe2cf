use std::path::Path;

fn main() {
    // The window embeds ui/dist. A checkout where `npm run build` has not run yet still
    // compiles (clippy, unit tests): it gets a page that says how to build the UI.
    let dist = Path::new("../ui/dist");
    if !dist.join("index.html").exists() {
        std::fs::create_dir_all(dist).expect("create ui/dist");
        std::fs::write(
            dist.join("index.html"),
            "<!doctype html><title>Berth</title><p>The dashboard is not built. \
             Run <code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code>, then rebuild Berth.</p>",
        )
        .expect("write the placeholder page");
    }
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build()
}
