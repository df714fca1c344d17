//! The CLI's CDEvents: the sink named by `--cdevents-sink` (or
//! `SPARKPLANE_CDEVENTS_SINK`), and the one place a command hands its steps
//! to it. Delivery is `sparkplane_delivery::sink`'s; what could not be
//! delivered is printed as a warning and never changes the command's result.

use sparkplane_core::{Diagnostic, Diagnostics};
use sparkplane_delivery::cdevents::Step;
use sparkplane_delivery::sink::Sink;

use crate::printer::Printer;

/// The `source` of every event the CLI emits.
pub const SOURCE: &str = "/sparkplane/cli";

/// Where a command's events go: nowhere unless a sink is configured.
#[derive(Clone, Debug, Default)]
pub struct Events {
    sink: Option<Sink>,
}

impl Events {
    /// Events to `url`, when given.
    pub fn new(url: Option<&str>) -> Events {
        Events { sink: url.filter(|u| !u.is_empty()).map(|u| Sink::new(u, SOURCE)) }
    }

    /// Sends `steps` (stamped now), if a sink is configured; warns about what was lost.
    pub fn emit(&self, steps: &[Step], printer: &Printer) {
        let Some(sink) = &self.sink else { return };
        if steps.is_empty() {
            return;
        }
        let delivery = sink.send(steps, jiff::Timestamp::now());
        if let Some(message) = delivery.warning(sink.url()) {
            printer.warnings(&Diagnostics(vec![
                Diagnostic::warning("cdevents-undelivered", "", message)
                    .with_help("check --cdevents-sink (SPARKPLANE_CDEVENTS_SINK) and that the receiver is up"),
            ]));
        }
    }
}
