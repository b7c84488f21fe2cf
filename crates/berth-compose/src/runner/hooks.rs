//! Lifecycle hooks: `post_start` commands run in a container once it has started, `pre_stop`
//! commands before it is stopped. A container keeps its `pre_stop` hooks in a label, so every
//! way of stopping it (`stop`, `down`, a recreate, the dashboard) runs them without the file.

use berth_engine::{ExecOptions, ExecSession};
use futures_util::StreamExt;

use super::Compose;
use crate::error::{Error, Result};
use crate::model::Hook;

/// The hooks a container's `pre_stop` label holds (none when absent or unreadable).
pub(crate) fn from_label(text: Option<&String>) -> Vec<Hook> {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

/// The `pre_stop` label's value for `hooks`, when there are any.
pub(crate) fn to_label(hooks: &[Hook]) -> Option<String> {
    (!hooks.is_empty())
        .then(|| serde_json::to_string(hooks).ok())
        .flatten()
}

impl Compose {
    /// Runs `hooks` one after another in `container`; one that exits non-zero is an error
    /// naming its command and exit code. `which` is `post_start` or `pre_stop`.
    pub(super) async fn run_hooks(
        &self,
        container: &str,
        service: &str,
        hooks: &[Hook],
        which: &str,
    ) -> Result<()> {
        for h in hooks {
            let options = ExecOptions {
                cmd: h.command.clone(),
                env: h
                    .environment
                    .iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
                    .collect(),
                working_dir: h.working_dir.clone(),
                user: h.user.clone(),
                privileged: h.privileged,
                ..Default::default()
            };
            let session = self
                .engine
                .exec(container, &options)
                .await
                .map_err(Error::engine(format!(
                    "running a {which} hook in {container}"
                )))?;
            // Only the handle and the output are kept across the awaits below (the input is
            // neither `Sync` nor needed), so a future running hooks stays `Send`.
            let ExecSession {
                handle, mut output, ..
            } = session;
            // The hook's output is not shown; drain it so the command runs to its end.
            while let Some(chunk) = output.next().await {
                if chunk.is_err() {
                    break;
                }
            }
            drop(output);
            let code = handle.exit_code().await.map_err(Error::engine(format!(
                "waiting for a {which} hook in {container}"
            )))?;
            if let Some(code) = code.filter(|c| *c != 0) {
                return Err(Error::service(
                    service,
                    format!(
                        "{which} hook {:?} exited with {code} in {container}",
                        h.command.join(" ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `up`, `stop` and `down` run hooks, and their callers need `Send` futures.
    #[allow(dead_code)]
    fn hook_futures_are_send(c: &Compose) {
        fn is_send<T: Send>(_: &T) {}
        is_send(&c.run_hooks("c", "s", &[], "post_start"));
    }

    #[test]
    fn pre_stop_hooks_round_trip_through_their_label() {
        let hooks = vec![Hook {
            command: vec!["sh".into(), "-c".into(), "echo bye".into()],
            user: Some("1000".into()),
            ..Default::default()
        }];
        let label = to_label(&hooks).unwrap();
        assert_eq!(from_label(Some(&label)), hooks);
        assert!(to_label(&[]).is_none());
        assert!(from_label(Some(&"not json".to_string())).is_empty());
        assert!(from_label(None).is_empty());
    }
}
