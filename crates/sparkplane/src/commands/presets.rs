//! `sparkplane presets list|show`.

use serde::Serialize;
use sparkplane_documents::yaml::to_yaml;

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::load_catalog;

#[derive(Serialize)]
struct Row {
    name: String,
    description: String,
    origin: String,
}

/// Runs `presets list`.
pub fn list(platform_dir: Option<&std::path::Path>, printer: &Printer) -> CommandResult {
    let catalog = load_catalog(platform_dir)?;
    let rows: Vec<Row> = catalog
        .presets()
        .map(|(name, entry)| Row {
            name: name.to_owned(),
            description: entry.description().to_owned(),
            origin: entry.origin.clone(),
        })
        .collect();
    printer.result(&rows, || {
        let mut table = super::Table::new(&["NAME", "DESCRIPTION", "FROM"]);
        for row in &rows {
            table.row(vec![row.name.clone(), row.description.clone(), row.origin.clone()]);
        }
        table.render()
    });
    Ok(())
}

/// Runs `presets show NAME`.
pub fn show(platform_dir: Option<&std::path::Path>, name: &str, printer: &Printer) -> CommandResult {
    let catalog = load_catalog(platform_dir)?;
    let Some(doc) = catalog.preset(name) else {
        let known: Vec<&str> = catalog.preset_names().collect();
        let mut diag =
            sparkplane_documents::Diagnostic::error("unknown-preset", "", format!("there is no preset `{name}`"));
        diag = match sparkplane_documents::schema::did_you_mean(name, known.iter().copied()) {
            Some(guess) => diag.with_help(format!("did you mean `{guess}`?")),
            None => diag.with_help(format!("use one of: {}", known.join(", "))),
        };
        return Err(Failure::Invalid(diag.into()));
    };
    let value = doc.to_json();
    // A preset's own file (with its comments) is the best explanation; show it for built-ins and files alike.
    printer.result(&value, || {
        let text = doc.span.source.text.to_string();
        if text.trim().is_empty() { to_yaml(&value) } else { text }
    });
    Ok(())
}
