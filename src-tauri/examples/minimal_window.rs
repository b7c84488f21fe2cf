//! The floor for the idle-memory bench: a Tauri 2 window showing a blank page, nothing else.
//! `cargo run --release -p berth-app --example minimal_window`

fn main() {
    let mut context = tauri::generate_context!();
    context.config_mut().app.windows.clear();
    tauri::Builder::default()
        .setup(|app| {
            let url = tauri::WebviewUrl::External("about:blank".parse().expect("a URL"));
            tauri::WebviewWindowBuilder::new(app, "main", url)
                .title("minimal")
                .inner_size(1200.0, 780.0)
                .build()?;
            Ok(())
        })
        .run(context)
        .expect("run the minimal window");
}
