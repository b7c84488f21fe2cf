//! Reading what `wsl.exe` prints. Its management verbs write UTF-16LE (usually without a BOM),
//! unless `WSL_UTF8=1` is set, in which case they write UTF-8; both are handled here and only
//! here, with fixture tests.

use serde::{Deserialize, Serialize};

/// Decodes `wsl.exe` output: UTF-16LE with or without a BOM, or UTF-8.
pub fn decode(bytes: &[u8]) -> String {
    let text = if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        utf16le(rest)
    } else if looks_like_utf16le(bytes) {
        utf16le(bytes)
    } else {
        let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
        String::from_utf8_lossy(bytes).into_owned()
    };
    text.replace("\r\n", "\n").replace('\0', "")
}

/// ASCII-range UTF-16LE has a zero in every odd byte; text in UTF-8 has none.
fn looks_like_utf16le(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes.len() % 2 == 0 && {
        let odd_zeros = bytes.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
        odd_zeros * 2 >= bytes.len() / 2
    }
}

fn utf16le(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DistroState {
    Running,
    Stopped,
    Installing,
    Converting,
    Uninstalling,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distro {
    pub name: String,
    pub state: DistroState,
    pub version: u8,
    pub is_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    #[error("`wsl --list --verbose` printed no header line")]
    NoHeader,
    #[error("cannot read line {line} of `wsl --list --verbose`: {text:?}")]
    BadLine { line: usize, text: String },
}

/// Whether `wsl.exe --list` failed only because no distribution is installed yet (it exits
/// non-zero then, with this error code; the code is not localized, the text around it is).
pub fn no_distributions(text: &str) -> bool {
    text.contains("WSL_E_DEFAULT_DISTRO_NOT_FOUND")
}

/// Parses `wsl.exe --list --verbose` (already [`decode`]d).
///
/// ```text
///   NAME            STATE           VERSION
/// * Ubuntu          Running         2
///   berth           Stopped         2
/// ```
///
/// The header is localized on non-English Windows, so it is recognized by position (the
/// first non-empty line), not by its words. Names cannot contain spaces in WSL.
pub fn parse_list(text: &str) -> Result<Vec<Distro>, OutputError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    lines.next().ok_or(OutputError::NoHeader)?;
    lines
        .map(|(i, line)| {
            parse_row(line).ok_or_else(|| OutputError::BadLine {
                line: i + 1,
                text: line.to_owned(),
            })
        })
        .collect()
}

fn parse_row(line: &str) -> Option<Distro> {
    let trimmed = line.trim_start();
    let (is_default, rest) = match trimmed.strip_prefix('*') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let mut fields = rest.split_whitespace();
    let name = fields.next()?.to_owned();
    let state = match fields.next()? {
        "Running" => DistroState::Running,
        "Stopped" => DistroState::Stopped,
        "Installing" => DistroState::Installing,
        "Converting" => DistroState::Converting,
        "Uninstalling" => DistroState::Uninstalling,
        _ => DistroState::Other,
    };
    let version = fields.next()?.parse().ok()?;
    if fields.next().is_some() {
        return None;
    }
    Some(Distro {
        name,
        state,
        version,
        is_default,
    })
}

/// What `wsl.exe` says when a distro does not exist, in whichever language: the error code it
/// prints on every locale (`Wsl/Service/WSL_E_DISTRO_NOT_FOUND`).
pub fn is_distro_not_found(text: &str) -> bool {
    text.contains("WSL_E_DISTRO_NOT_FOUND")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `wsl.exe -l -v` writes on an English Windows 11: UTF-16LE, no BOM, CRLF.
    fn utf16_fixture(text: &str, bom: bool) -> Vec<u8> {
        let mut bytes = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        bytes
    }

    const LIST: &str = "  NAME            STATE           VERSION\r\n* Ubuntu-22.04    Running         2\r\n  berth           Stopped         2\r\n  legacy          Stopped         1\r\n";

    #[test]
    fn decodes_utf16_with_and_without_bom_and_utf8() {
        for bytes in [
            utf16_fixture(LIST, false),
            utf16_fixture(LIST, true),
            LIST.as_bytes().to_vec(),
            [&[0xEF, 0xBB, 0xBF][..], LIST.as_bytes()].concat(),
        ] {
            let text = decode(&bytes);
            assert!(text.starts_with("  NAME"), "{text:?}");
            assert!(!text.contains('\r'));
        }
    }

    #[test]
    fn parses_the_verbose_list() {
        let distros = parse_list(&decode(&utf16_fixture(LIST, false))).unwrap();
        assert_eq!(
            distros,
            [
                Distro {
                    name: "Ubuntu-22.04".into(),
                    state: DistroState::Running,
                    version: 2,
                    is_default: true
                },
                Distro {
                    name: "berth".into(),
                    state: DistroState::Stopped,
                    version: 2,
                    is_default: false
                },
                Distro {
                    name: "legacy".into(),
                    state: DistroState::Stopped,
                    version: 1,
                    is_default: false
                },
            ]
        );
    }

    #[test]
    fn a_localized_header_is_fine() {
        let german = "  NAME      STATUS          VERSION\r\n* berth     Running         2\r\n";
        let distros = parse_list(&decode(&utf16_fixture(german, false))).unwrap();
        assert_eq!(distros[0].name, "berth");
        assert_eq!(distros[0].state, DistroState::Running);
    }

    #[test]
    fn no_distros_and_garbage() {
        assert_eq!(parse_list("  NAME STATE VERSION\n").unwrap(), []);
        assert_eq!(parse_list(""), Err(OutputError::NoHeader));
        assert!(matches!(
            parse_list("NAME STATE VERSION\nberth Running two\n"),
            Err(OutputError::BadLine { line: 2, .. })
        ));
    }

    #[test]
    fn not_found_is_recognized_by_its_code() {
        let message = "There is no distribution with the supplied name.\r\nError code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND\r\n";
        assert!(is_distro_not_found(&decode(&utf16_fixture(message, false))));
        assert!(!is_distro_not_found(
            "The operation completed successfully."
        ));
    }

    #[test]
    fn odd_bytes_never_panic() {
        for bytes in [&[0xFF][..], &[0xFF, 0xFE, 0x00], &[0xD8, 0x00], &[0, 0, 0]] {
            let _ = parse_list(&decode(bytes));
        }
    }
}
