//! A value that must never reach a log, a panic message or a settings file by accident.

use std::fmt;

/// Wraps a secret (a password, a token). `Debug` and `Display` print `<redacted>`; the value
/// only comes out through [`Sensitive::expose`], so every use of a secret is greppable.
///
/// It is deliberately not `Serialize`: a secret is written to the keyring on purpose, never as
/// a side effect of serialising a bigger struct.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Sensitive(value)
    }

    /// The secret itself. Call it at the last moment, where the secret is handed over.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Sensitive(value)
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_print_the_value() {
        let secret = Sensitive::new(String::from("hunter2"));
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(format!("{secret:#?}"), "<redacted>");
    }

    #[test]
    fn a_struct_holding_a_secret_does_not_leak_it_through_derive_debug() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Login {
            user: String,
            token: Sensitive<String>,
        }
        let login = Login {
            user: "alice".into(),
            token: Sensitive::new("dckr_pat_abc".into()),
        };
        let printed = format!("{login:?}");
        assert!(printed.contains("alice"));
        assert!(!printed.contains("dckr_pat_abc"), "{printed}");
    }

    #[test]
    fn expose_returns_the_value() {
        let secret: Sensitive<String> = "s3cret".to_string().into();
        assert_eq!(secret.expose(), "s3cret");
        assert_eq!(secret.into_inner(), "s3cret");
    }
}
