//! Plain text tables with aligned columns: the one writer of the tables the
//! commands print (`list`, `fit`, `dq check`, `runs list`, …) and the
//! library views they print, so every table pads, separates and trims its
//! columns the same way.
//!
//! Owns: the layout (each column as wide as its widest cell, two spaces
//! between columns, no trailing spaces). Must not: know what a row means.

/// A plain text table with aligned columns.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings.
    pub fn new(header: &[&str]) -> Table {
        Table { header: header.iter().map(|h| (*h).to_owned()).collect(), rows: Vec::new() }
    }

    /// Adds a row.
    pub fn row(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as text, columns separated by two spaces.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                if i + 1 == columns {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_by_characters_and_lines_are_trimmed() {
        let mut table = Table::new(&["NAME", "STATE", "NOTE"]);
        table.row(vec!["größe".into(), "ok".into(), String::new()]);
        table.row(vec!["a".into(), "Succeeded".into(), "done".into()]);
        assert_eq!(table.render(), "NAME   STATE      NOTE\ngröße  ok\na      Succeeded  done\n");
    }

    #[test]
    fn cells_beyond_the_header_are_left_out() {
        let mut table = Table::new(&["ONE"]);
        table.row(vec!["x".into(), "ignored".into()]);
        assert_eq!(Table::new(&["ONE"]).render(), "ONE\n");
        assert_eq!(table.render(), "ONE\nx\n");
    }
}
