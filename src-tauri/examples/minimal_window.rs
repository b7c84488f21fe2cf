//! The floor for the idle-memory bench: a Tauri 2 window showing one tiny page served over a
//! custom protocol (as Tauri serves any app's UI), nothing else.
//! `cargo build -p berth-app --example minimal_window`

fn main() {
    let mut context = tauri::generate_context!();
    context.config_mut().app.windows.clear();
    tauri::Builder::default()
        .register_uri_scheme_protocol("minimal", |_ctx, _request| {
            tauri::http::Response::builder()
                .header("content-type", "text/html")
                .body(b"<!doctype html><title>minimal</title><p>minimal</p>".to_vec())
                .expect("a response")
        })
        .setup(|app| {
            let url = tauri::WebviewUrl::CustomProtocol("minimal://localhost/".parse()?);
            tauri::WebviewWindowBuilder::new(app, "main", url)
                .title("minimal")
                .inner_size(1200.0, 780.0)
                .build()?;
            Ok(())
        })
        .run(context)
        .expect("run the minimal window");
}
