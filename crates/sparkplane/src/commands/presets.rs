//! `sparkplane presets list|show`: the catalog's presets (its rows and its
//! unknown-preset rule are `sparkplane_core::catalog`'s).

use sparkplane_core::catalog::PresetRow;
use sparkplane_documents::yaml::to_yaml;

use crate::exit::CommandResult;
use crate::printer::Printer;
use crate::workspace::load_catalog;

/// Runs `presets list`.
pub fn list(platform_dir: Option<&std::path::Path>, printer: &Printer) -> CommandResult {
    let rows = load_catalog(platform_dir)?.preset_rows();
    printer.result(&rows, || PresetRow::table(&rows));
    Ok(())
}

/// Runs `presets show NAME`.
pub fn show(platform_dir: Option<&std::path::Path>, name: &str, printer: &Printer) -> CommandResult {
    let catalog = load_catalog(platform_dir)?;
    let doc = catalog.find_preset(name)?;
    let value = doc.to_json();
    // A preset's own file (with its comments) is the best explanation; show it for built-ins and files alike.
    printer.result(&value, || {
        let text = doc.span.source.text.to_string();
        if text.trim().is_empty() { to_yaml(&value) } else { text }
    });
    Ok(())
}
