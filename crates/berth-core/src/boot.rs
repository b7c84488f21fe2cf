//! How long the engine's boot took, step by step: the marks the guest init records (each step
//! and when it was reached, since the guest's kernel started), and the host's own two figures
//! (the agent answering, the engine answering, since the hypervisor started).

use serde::{Deserialize, Serialize};

/// One step of the guest's boot (`kernel`, `disk`, `dockerd`, ...) and when it was reached, in
/// milliseconds since the guest's kernel started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BootMark {
    pub name: String,
    pub at_ms: u64,
}

/// The marks in the guest init's file: one `name seconds` line each (`disk 2.31`); a line that
/// is not one is skipped.
pub fn parse_boot_marks(text: &str) -> Vec<BootMark> {
    text.lines()
        .filter_map(|line| {
            let (name, secs) = line.trim().split_once(' ')?;
            let secs: f64 = secs.trim().parse().ok()?;
            (secs.is_finite() && secs >= 0.0 && !name.is_empty()).then(|| BootMark {
                name: name.to_owned(),
                at_ms: (secs * 1000.0).round() as u64,
            })
        })
        .collect()
}

/// One start of the engine, timed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BootTimeline {
    /// The guest's marks, in the order it reached them.
    pub guest: Vec<BootMark>,
    /// From the hypervisor's start to the guest agent answering on the link.
    pub link_up_ms: u64,
    /// From the hypervisor's start to the engine answering: the boot as the user waits for it.
    pub engine_ready_ms: u64,
}

/// A phase of the boot and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootPhase {
    pub name: &'static str,
    pub ms: u64,
}

impl BootTimeline {
    fn at(&self, name: &str) -> Option<u64> {
        self.guest.iter().find(|m| m.name == name).map(|m| m.at_ms)
    }

    /// The guest's phases, each from the mark that starts it to the one that ends it:
    /// `kernel` (to stage 1), `init` (stage 1 and stage 2 up to the data disk), `disk`
    /// (finding, formatting, mounting it), `containerd` (from the engine's start to its
    /// socket), `dockerd` (from there to its API), `agent` (init starting it). A phase whose
    /// marks are missing is left out.
    pub fn phases(&self) -> Vec<BootPhase> {
        let span = |from: Option<u64>, to: Option<u64>| Some(to?.saturating_sub(from?));
        let engine_started = self.at("engine_started");
        let containerd = self.at("containerd");
        let dockerd_from = match (engine_started, containerd) {
            (Some(e), Some(c)) => Some(e.max(c)),
            (e, c) => e.or(c),
        };
        [
            ("kernel", self.at("kernel")),
            ("init", span(self.at("kernel"), self.at("disk_start"))),
            ("disk", span(self.at("disk_start"), self.at("disk"))),
            ("containerd", span(engine_started, containerd)),
            ("dockerd", span(dockerd_from, self.at("dockerd"))),
            ("agent", span(self.at("system_ready"), self.at("agent"))),
        ]
        .into_iter()
        .filter_map(|(name, ms)| Some(BootPhase { name, ms: ms? }))
        .collect()
    }

    /// `31.4 s to ready (kernel 1.9 s, init 2.0 s, ...)`, for the log and `berth status`.
    pub fn summary(&self) -> String {
        let secs = |ms: u64| format!("{:.1} s", ms as f64 / 1000.0);
        let phases: Vec<String> = self
            .phases()
            .iter()
            .map(|p| format!("{} {}", p.name, secs(p.ms)))
            .collect();
        let mut out = format!(
            "{} to ready, agent answering at {}",
            secs(self.engine_ready_ms),
            secs(self.link_up_ms)
        );
        if !phases.is_empty() {
            out.push_str(&format!(" (guest: {})", phases.join(", ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_marks_are_read_line_by_line_and_bad_lines_skipped() {
        let marks =
            parse_boot_marks("kernel 1.204\nstage2 1.9\ngarbage\ndisk x\n dockerd 31.25 \n");
        let got: Vec<_> = marks.iter().map(|m| (m.name.as_str(), m.at_ms)).collect();
        assert_eq!(
            got,
            [("kernel", 1204), ("stage2", 1900), ("dockerd", 31250)]
        );
        assert!(parse_boot_marks("").is_empty());
        assert!(parse_boot_marks("kernel -1\nx NaN\n").is_empty());
    }

    #[test]
    fn phases_span_their_marks_and_missing_ones_are_left_out() {
        let timeline = BootTimeline {
            guest: parse_boot_marks(
                "kernel 1.5\nstage2 2.0\ndisk_start 2.5\ndisk 3.0\nengine_started 3.2\n\
                 system_ready 3.4\nagent 3.5\ncontainerd 8.2\ndockerd 30.2\n",
            ),
            link_up_ms: 6_000,
            engine_ready_ms: 33_000,
        };
        let phases: Vec<_> = timeline.phases().iter().map(|p| (p.name, p.ms)).collect();
        assert_eq!(
            phases,
            [
                ("kernel", 1500),
                ("init", 1000),
                ("disk", 500),
                ("containerd", 5000),
                ("dockerd", 22_000),
                ("agent", 100),
            ]
        );
        assert_eq!(
            timeline.summary(),
            "33.0 s to ready, agent answering at 6.0 s (guest: kernel 1.5 s, init 1.0 s, \
             disk 0.5 s, containerd 5.0 s, dockerd 22.0 s, agent 0.1 s)"
        );
        let partial = BootTimeline {
            guest: parse_boot_marks("kernel 1.5\nengine_started 3.2\ndockerd 30.2\n"),
            ..BootTimeline::default()
        };
        let names: Vec<_> = partial.phases().iter().map(|p| (p.name, p.ms)).collect();
        assert_eq!(names, [("kernel", 1500), ("dockerd", 27_000)]);
    }
}
