//! Arbitrary bytes as the lines of one event log: each line through the parser
//! (a task event through both of its readings, which must agree), all of them
//! through the model fold, and the folded model through every consumer of it
//! (analysis, cost, tuning advice, the HTML report). Nothing may panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sparkplane_eventlog::AppSummaryBuilder;
use sparkplane_eventlog::parse::task_detail;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut builder = AppSummaryBuilder::new();
    for (number, line) in text.lines().enumerate() {
        // The parser on its own, then the same line folded into the model.
        let _ = sparkplane_eventlog::parse_event(line);
        // The direct reading of a task event gives serde's reading or declines.
        if let Some(direct) = task_detail::scan_task_detail(line) {
            assert_eq!(task_detail::serde_task_detail(line), Ok(Some(direct)), "the two readings differ: {line}");
        }
        builder.push_line(Path::new("fuzz.log"), number as u64 + 1, line);
    }
    let app = builder.finish();
    sparkplane_eventlog_consumers(&app);
});

fn sparkplane_eventlog_consumers(app: &sparkplane_eventlog::AppSummary) {
    let sheet = sparkplane_analysis::cost::PriceSheet::opencost_defaults();
    let _ = sparkplane_analysis::analyze::analyze(app);
    let _ = sparkplane_analysis::cost::app_cost(app, &sheet);
    let html = sparkplane_analysis::report_html(app, &sheet);
    // Log text never opens an element of its own.
    assert!(!html.contains("<script"), "the report carries a script element");
    let _ = sparkplane_analysis::tune::tune(&Default::default(), std::slice::from_ref(app));
}
