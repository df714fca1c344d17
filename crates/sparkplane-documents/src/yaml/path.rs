//! Field paths: where a value sits in a document (`spec.executor.memory`,
//! `spec.sparkConf."spark.executor.memory"`, `spec.volumes[0].name`).

use std::fmt;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathSeg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path from the document root.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(pub Vec<PathSeg>);

impl FieldPath {
    /// The root.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// Parses a dotted path as users write it in `--set`: `spec.executor.instances`,
    /// `spec.sparkConf."spark.sql.shuffle.partitions"`, `spec.arguments[1]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut segs = Vec::new();
        let mut chars = text.chars().peekable();
        let mut current = String::new();
        let mut expect_key = true;
        while let Some(c) = chars.next() {
            match c {
                '"' if current.is_empty() => {
                    let mut quoted = String::new();
                    loop {
                        match chars.next() {
                            Some('"') => break,
                            Some(c) => quoted.push(c),
                            None => return Err(format!("unclosed quote in path `{text}`")),
                        }
                    }
                    if quoted.is_empty() {
                        return Err(format!("empty key in path `{text}`"));
                    }
                    segs.push(PathSeg::Key(quoted));
                    expect_key = false;
                }
                '.' => {
                    if !current.is_empty() {
                        segs.push(PathSeg::Key(std::mem::take(&mut current)));
                    } else if expect_key {
                        return Err(format!("empty key in path `{text}`"));
                    }
                    expect_key = true;
                }
                '[' => {
                    if !current.is_empty() {
                        segs.push(PathSeg::Key(std::mem::take(&mut current)));
                    }
                    let mut digits = String::new();
                    loop {
                        match chars.next() {
                            Some(']') => break,
                            Some(c) if c.is_ascii_digit() => digits.push(c),
                            _ => return Err(format!("bad index in path `{text}`: write `name[0]`")),
                        }
                    }
                    let index = digits.parse().map_err(|_| format!("bad index in path `{text}`: write `name[0]`"))?;
                    segs.push(PathSeg::Index(index));
                    expect_key = false;
                }
                c => {
                    current.push(c);
                    expect_key = false;
                }
            }
        }
        if !current.is_empty() {
            segs.push(PathSeg::Key(current));
        } else if expect_key {
            return Err(format!("path `{text}` ends without a key"));
        }
        Ok(Self(segs))
    }

    /// This path with a key appended.
    pub fn key(&self, key: &str) -> Self {
        let mut out = self.clone();
        out.0.push(PathSeg::Key(key.to_owned()));
        out
    }

    /// This path with an index appended.
    pub fn index(&self, index: usize) -> Self {
        let mut out = self.clone();
        out.0.push(PathSeg::Index(index));
        out
    }

    /// Whether `self` is `other` or inside it.
    pub fn starts_with(&self, other: &FieldPath) -> bool {
        self.0.starts_with(&other.0)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                PathSeg::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if key.contains(['.', '[', ']', '"']) || key.is_empty() {
                        write!(f, "\"{key}\"")?;
                    } else {
                        f.write_str(key)?;
                    }
                }
                PathSeg::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_paths() {
        for text in [
            "spec.executor.instances",
            "spec.sparkConf.\"spark.sql.shuffle.partitions\"",
            "spec.arguments[1]",
            "a[0].b",
        ] {
            let path = FieldPath::parse(text).unwrap();
            assert_eq!(path.to_string(), text);
        }
        assert_eq!(
            FieldPath::parse("spec.sparkConf.\"a.b\"").unwrap().0,
            vec![PathSeg::Key("spec".into()), PathSeg::Key("sparkConf".into()), PathSeg::Key("a.b".into())]
        );
    }

    #[test]
    fn refuses_bad_paths() {
        assert!(FieldPath::parse("spec..x").is_err());
        assert!(FieldPath::parse("spec.").is_err());
        assert!(FieldPath::parse("a[x]").is_err());
        assert!(FieldPath::parse("\"open").is_err());
        assert!(FieldPath::parse("").is_err());
    }
}
