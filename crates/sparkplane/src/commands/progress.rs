//! Showing a local run's progress: a live line on a terminal, a plain line
//! every ten seconds otherwise (also with `-q` and `-o json`, on stderr, so
//! logs of unattended runs still show that work is moving).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sparkplane_local::progress::Progress;

use crate::printer::Printer;

/// A run's progress display.
pub struct Display {
    bar: Option<ProgressBar>,
    last_plain: Option<Duration>,
}

fn elapsed_text(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    if secs >= 60 { format!("{}m{:02}s", secs / 60, secs % 60) } else { format!("{secs}s") }
}

impl Display {
    /// A live display on a terminal (`live`), else plain periodic lines.
    pub fn new(_printer: &Printer, live: bool) -> Display {
        let bar = live.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message("starting Spark");
            bar
        });
        Display { bar, last_plain: None }
    }

    /// Shows the latest progress.
    pub fn update(&mut self, progress: Option<&Progress>, elapsed: Duration) {
        let text = match progress {
            Some(p) => format!("{} · {}", p.line(), elapsed_text(elapsed)),
            None => format!("starting Spark · {}", elapsed_text(elapsed)),
        };
        match &self.bar {
            Some(bar) => bar.set_message(text),
            None => {
                let due = self.last_plain.is_none_or(|last| elapsed.saturating_sub(last) >= Duration::from_secs(10));
                if due {
                    self.last_plain = Some(elapsed);
                    eprintln!("{text}");
                }
            }
        }
    }

    /// Clears the live line.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
