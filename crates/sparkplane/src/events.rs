//! The CLI's CDEvents: the sink named by `--cdevents-sink` (or
//! `SPARKPLANE_CDEVENTS_SINK`), and the one place a command hands its steps
//! to it. Delivery is `sparkplane_delivery::sink`'s; what could not be
//! delivered is printed as a warning and never changes the command's result.

use sparkplane_delivery::cdevents::Step;
use sparkplane_delivery::sink::Sink;
use sparkplane_documents::{Diagnostic, Diagnostics};

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
        self.send_in_background(steps.to_vec()).finish(printer);
    }

    /// Starts sending `steps` (stamped now) without waiting, so a slow sink
    /// does not hold up the work the events are about; [`Pending::finish`]
    /// waits and warns about what was lost.
    pub fn send_in_background(&self, steps: Vec<Step>) -> Pending {
        let Some(sink) = self.sink.clone().filter(|_| !steps.is_empty()) else { return Pending(None) };
        let at = jiff::Timestamp::now();
        Pending(Some(std::thread::spawn(move || sink.send(&steps, at).warning(sink.url()))))
    }
}

/// Events on their way; see [`Events::send_in_background`].
#[derive(Debug)]
pub struct Pending(Option<std::thread::JoinHandle<Option<String>>>);

impl Pending {
    /// Nothing on its way.
    pub fn none() -> Pending {
        Pending(None)
    }

    /// Waits for the delivery and prints a warning for what was not delivered.
    pub fn finish(self, printer: &Printer) {
        let Some(handle) = self.0 else { return };
        let warning = handle.join().unwrap_or_else(|_| Some("the CDEvents sender stopped unexpectedly".into()));
        if let Some(message) = warning {
            printer.warnings(&Diagnostics(vec![
                Diagnostic::warning("cdevents-undelivered", "", message)
                    .with_help("check --cdevents-sink (SPARKPLANE_CDEVENTS_SINK) and that the receiver is up"),
            ]));
        }
    }
}
