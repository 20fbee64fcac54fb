//! Progress of long runs on a terminal: a bar for a run of cases (`test-server`, `scan`,
//! `test-as`, `test-client`), a spinner for open-ended work (`explore`, `bench-server`),
//! each with the time elapsed, so that a minute spent waiting out a code's lifetime shows.
//! When stderr is not a terminal (CI logs, pipes) there is no progress output at all: the
//! report says what happened.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::time::Duration;

/// Progress of something on stderr, shown only on a terminal.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `n` cases.
    pub fn cases(n: usize) -> Progress {
        let style = ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} {msg}")
            .map(|s| s.progress_chars("=> "));
        Progress::shown(ProgressBar::new(n as u64), style)
    }

    /// A spinner for work of unknown length.
    pub fn spinner() -> Progress {
        Progress::shown(
            ProgressBar::new_spinner(),
            ProgressStyle::with_template("{elapsed:>4} {spinner} {msg}"),
        )
    }

    fn shown(bar: ProgressBar, style: Result<ProgressStyle, indicatif::style::TemplateError>) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        bar.set_draw_target(ProgressDrawTarget::stderr());
        if let Ok(style) = style {
            bar.set_style(style);
        }
        // Ticks while a case waits (a code lifetime, a token lifetime), so time shows passing.
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar: Some(bar) }
    }

    /// One case ended: `ID verdict`.
    pub fn case(&self, id: &str, verdict: &dyn std::fmt::Display) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{id} {verdict}"));
            bar.inc(1);
        }
    }

    /// A line of its own (what the setup found), above the bar on a terminal.
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => crate::common::tell!("{line}"),
        }
    }

    /// What is going on now.
    pub fn message(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        }
    }

    /// Removes the bar: the report follows.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
