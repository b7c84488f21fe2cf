//! How the CLI prints: a human table by default, JSON with `--json`.

use serde::Serialize;

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints aligned `key: value` lines.
pub fn fields(rows: &[(&str, String)]) {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in rows {
        println!(
            "{key:<width$}  {value}",
            key = format!("{key}:"),
            width = width + 1
        );
    }
}
