//! JDBC datasets: the database a JDBC URL names, and a table in it named as
//! OpenLineage names database tables (namespace `postgres://host:port`, name
//! `database.schema.table`; `mysql://host:port` and `database.table`).
//!
//! Owns: reading `jdbc:postgresql:` and `jdbc:mysql:` URLs into a
//! [`JdbcDatabase`] that keeps only the scheme, host, port and database —
//! user names, passwords and every query parameter are dropped on reading, so
//! nothing built from a [`JdbcDatabase`] (names, events, messages) can carry
//! a credential — and qualifying a table name (`dbtable`) with its database
//! and default schema. Must not: do I/O, or echo a URL it was given: its
//! errors name the part that is wrong, never the URL.

use std::fmt;

/// Database systems whose JDBC datasets sparkplane names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dbms {
    /// PostgreSQL (`jdbc:postgresql:`), default port 5432, default schema `public`.
    Postgres,
    /// MySQL (`jdbc:mysql:`), default port 3306; no schemas.
    Mysql,
}

impl Dbms {
    fn default_port(self) -> u16 {
        match self {
            Dbms::Postgres => 5432,
            Dbms::Mysql => 3306,
        }
    }

    /// The scheme of OpenLineage's namespace.
    fn scheme(self) -> &'static str {
        match self {
            Dbms::Postgres => "postgres",
            Dbms::Mysql => "mysql",
        }
    }
}

/// The database a JDBC URL points at, without credentials or parameters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JdbcDatabase {
    /// Which system.
    pub dbms: Dbms,
    /// Host name (lower case) or IP address (IPv6 in brackets).
    pub host: String,
    /// Port (the system's default when the URL has none).
    pub port: u16,
    /// The database.
    pub database: String,
}

/// Why a JDBC URL names no database sparkplane can name datasets in. The
/// messages never contain the URL (it may carry a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JdbcUrlError {
    /// Not `jdbc:…`.
    #[error("not a JDBC URL: it must start with `jdbc:`, e.g. jdbc:postgresql://HOST:5432/DATABASE")]
    NotJdbc,
    /// A system other than PostgreSQL or MySQL.
    #[error("`jdbc:{0}` URLs are not supported: sparkplane names JDBC datasets of jdbc:postgresql and jdbc:mysql")]
    Unsupported(String),
    /// No host.
    #[error("the URL names no host: write jdbc:{0}://HOST:PORT/DATABASE")]
    NoHost(&'static str),
    /// Several hosts (failover lists).
    #[error("the URL names several hosts: pass the URL of the primary alone, jdbc:{0}://HOST:PORT/DATABASE")]
    SeveralHosts(&'static str),
    /// A port that is not a number from 1 to 65535.
    #[error("the port `{0}` is not a number from 1 to 65535")]
    BadPort(String),
    /// No database.
    #[error("the URL names no database: write jdbc:{0}://HOST:PORT/DATABASE")]
    NoDatabase(&'static str),
}

impl JdbcDatabase {
    /// Reads `url`, keeping scheme, host, port and database; user, password and parameters are dropped.
    pub fn parse(url: &str) -> Result<JdbcDatabase, JdbcUrlError> {
        let url = url.trim();
        let rest =
            url.get(..5).filter(|p| p.eq_ignore_ascii_case("jdbc:")).map(|_| &url[5..]).ok_or(JdbcUrlError::NotJdbc)?;
        let (scheme, rest) = rest.split_once(':').unwrap_or((rest, ""));
        let (dbms, scheme_text) = match scheme.to_ascii_lowercase().as_str() {
            "postgresql" => (Dbms::Postgres, "postgresql"),
            "mysql" => (Dbms::Mysql, "mysql"),
            // Only the scheme is echoed: it holds no credential.
            _ => {
                let shown: String = scheme.chars().filter(|c| c.is_ascii_alphanumeric()).take(20).collect();
                return Err(JdbcUrlError::Unsupported(shown));
            }
        };
        // Parameters (`?a=b&password=…`, `;a=b`) are never kept.
        let without_parameters = rest.split(['?', ';']).next().unwrap_or("");
        let Some(after) = without_parameters.strip_prefix("//") else {
            // jdbc:postgresql:database is localhost on the default port.
            if dbms == Dbms::Postgres && !without_parameters.is_empty() && !without_parameters.starts_with('/') {
                return Ok(JdbcDatabase {
                    dbms,
                    host: "localhost".into(),
                    port: dbms.default_port(),
                    database: without_parameters.to_string(),
                });
            }
            return Err(JdbcUrlError::NoHost(scheme_text));
        };
        let (authority, path) = after.split_once('/').unwrap_or((after, ""));
        // user:password@ is dropped.
        let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if hosts.contains(',') {
            return Err(JdbcUrlError::SeveralHosts(scheme_text));
        }
        let (host, port) = split_host_port(hosts)?;
        if host.is_empty() {
            return Err(JdbcUrlError::NoHost(scheme_text));
        }
        let database = path.trim_end_matches('/');
        if database.is_empty() {
            return Err(JdbcUrlError::NoDatabase(scheme_text));
        }
        Ok(JdbcDatabase {
            dbms,
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(dbms.default_port()),
            database: database.to_string(),
        })
    }

    /// OpenLineage's namespace: `postgres://host:port` or `mysql://host:port`.
    pub fn namespace(&self) -> String {
        format!("{}://{}:{}", self.dbms.scheme(), self.host, self.port)
    }

    /// OpenLineage's name of `table` (a JDBC `dbtable`) in this database:
    /// `database.schema.table` on PostgreSQL (schema `public` when the table
    /// names none; unquoted identifiers folded to lower case, as PostgreSQL
    /// does), `database.table` on MySQL.
    pub fn dataset_name(&self, table: &str) -> String {
        let parts = identifier_parts(table, self.dbms);
        let mut name: Vec<String> = Vec::with_capacity(3);
        match (self.dbms, parts.len()) {
            (Dbms::Postgres, 1) => name.extend([self.database.clone(), "public".into()]),
            (Dbms::Postgres, 2) | (Dbms::Mysql, 1) => name.push(self.database.clone()),
            _ => {}
        }
        name.extend(parts);
        name.join(".")
    }
}

impl fmt::Display for JdbcDatabase {
    /// `jdbc:postgresql://host:port/database`: the URL without credentials or parameters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.dbms {
            Dbms::Postgres => "postgresql",
            Dbms::Mysql => "mysql",
        };
        write!(f, "jdbc:{scheme}://{}:{}/{}", self.host, self.port, self.database)
    }
}

/// `host`, `host:port`, `[::1]:port` → host and port.
fn split_host_port(text: &str) -> Result<(&str, Option<u16>), JdbcUrlError> {
    let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((_, after)) => (&text[..bracketed.len() + 1 - after.len()], after.strip_prefix(':')),
            None => (text, None),
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| JdbcUrlError::BadPort(p.to_string()))?),
    };
    Ok((host, port))
}

/// `sales."Orders"` → `sales`, `Orders`: split at dots outside quotes; quoted
/// parts keep their case, unquoted PostgreSQL identifiers are lower-cased.
fn identifier_parts(table: &str, dbms: Dbms) -> Vec<String> {
    let quote = match dbms {
        Dbms::Postgres => '"',
        Dbms::Mysql => '`',
    };
    let mut parts = Vec::new();
    let (mut current, mut quoted, mut was_quoted) = (String::new(), false, false);
    let mut chars = table.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c == quote && quoted && chars.peek() == Some(&quote) => {
                current.push(quote);
                chars.next();
            }
            c if c == quote => {
                quoted = !quoted;
                was_quoted = true;
            }
            '.' if !quoted => {
                parts.push(finish(&mut current, was_quoted, dbms));
                was_quoted = false;
            }
            c => current.push(c),
        }
    }
    parts.push(finish(&mut current, was_quoted, dbms));
    parts
}

fn finish(current: &mut String, quoted: bool, dbms: Dbms) -> String {
    let part = std::mem::take(current);
    let part = if quoted { part } else { part.trim().to_string() };
    if dbms == Dbms::Postgres && !quoted { part.to_lowercase() } else { part }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(url: &str) -> JdbcDatabase {
        JdbcDatabase::parse(url).expect(url)
    }

    #[test]
    fn postgres_urls_name_host_port_and_database_only() {
        let shop = db("jdbc:postgresql://DB.example.com:6543/shop?user=etl&password=hunter2&ssl=true");
        assert_eq!(shop.namespace(), "postgres://db.example.com:6543");
        assert_eq!(shop.database, "shop");
        assert_eq!(shop.to_string(), "jdbc:postgresql://db.example.com:6543/shop");
        assert_eq!(db("jdbc:postgresql://db/shop").namespace(), "postgres://db:5432");
        assert_eq!(db("jdbc:postgresql://[::1]:5433/shop").namespace(), "postgres://[::1]:5433");
        assert_eq!(db("jdbc:postgresql:shop?password=x").to_string(), "jdbc:postgresql://localhost:5432/shop");
        assert_eq!(db("JDBC:PostgreSQL://h/shop/").database, "shop");
    }

    #[test]
    fn credentials_are_dropped_wherever_the_url_carries_them() {
        for url in [
            "jdbc:mysql://etl:hunter2@db:3306/shop?sessionVariables=x",
            "jdbc:mysql://db:3306/shop;password=hunter2",
            "jdbc:postgresql://etl:hunter2@db/shop",
            "jdbc:postgresql://db/shop?password=hunter2&apiKey=hunter2",
        ] {
            let parsed = db(url);
            let everything = format!("{parsed:?} {parsed} {} {}", parsed.namespace(), parsed.dataset_name("t"));
            assert!(!everything.contains("hunter2") && !everything.contains("etl"), "{url}: {everything}");
        }
        assert_eq!(db("jdbc:mysql://etl:hunter2@db/shop").namespace(), "mysql://db:3306");
    }

    #[test]
    fn bad_urls_say_what_is_wrong_without_echoing_the_url() {
        let error = |url: &str| JdbcDatabase::parse(url).unwrap_err().to_string();
        assert_eq!(
            error("postgresql://db/shop?password=hunter2"),
            "not a JDBC URL: it must start with `jdbc:`, e.g. jdbc:postgresql://HOST:5432/DATABASE"
        );
        assert_eq!(
            error("jdbc:oracle:thin:scott/hunter2@db:1521/orcl"),
            "`jdbc:oracle` URLs are not supported: sparkplane names JDBC datasets of jdbc:postgresql and jdbc:mysql"
        );
        assert_eq!(
            error("jdbc:postgresql://db?password=hunter2"),
            "the URL names no database: write jdbc:postgresql://HOST:PORT/DATABASE"
        );
        assert_eq!(error("jdbc:mysql:shop"), "the URL names no host: write jdbc:mysql://HOST:PORT/DATABASE");
        assert_eq!(error("jdbc:postgresql://u:hunter2@db:54x/shop"), "the port `54x` is not a number from 1 to 65535");
        assert_eq!(
            error("jdbc:postgresql://a:5432,b:5432/shop"),
            "the URL names several hosts: pass the URL of the primary alone, jdbc:postgresql://HOST:PORT/DATABASE"
        );
    }

    #[test]
    fn tables_are_named_database_schema_table() {
        let pg = db("jdbc:postgresql://db/shop");
        assert_eq!(pg.dataset_name("sales.orders"), "shop.sales.orders");
        assert_eq!(pg.dataset_name("Orders"), "shop.public.orders");
        assert_eq!(pg.dataset_name(r#"sales."Big ""Q"" Orders""#), r#"shop.sales.Big "Q" Orders"#);
        assert_eq!(pg.dataset_name("shop.sales.orders"), "shop.sales.orders");
        let my = db("jdbc:mysql://db/shop");
        assert_eq!(my.dataset_name("Orders"), "shop.Orders");
        assert_eq!(my.dataset_name("`other`.`t`"), "other.t");
    }
}
