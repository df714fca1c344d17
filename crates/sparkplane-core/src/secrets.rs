//! What counts as a credential and what counts as only a reference to one.
//!
//! Owns: the words that mark a key as naming a credential ([`looks_secret`]),
//! the one list of forms that name a credential but hold only a reference or
//! a harmless setting ([`is_reference`]), and where a job writes one inline
//! ([`inline_secrets`]). Must not: decide what happens to a finding — the
//! `inline-secrets` policy owns the rule (ADR 0028); `render::check` uses the
//! same two lists when it reads rendered objects.

use sparkplane_api::SparkJobSpec;

use sparkplane_documents::yaml::FieldPath;

/// Words that mark a property or variable as holding a credential.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "credential",
    "private.key",
    "privatekey",
    "access.key",
    "accesskey",
    "apikey",
    "api.key",
    "api_key",
    "secret_key",
    "access_key",
    "private_key",
];

/// Whether a key names a credential.
pub fn looks_secret(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| lower.contains(w))
}

/// Whether a property that names a credential holds only a reference to it
/// (a secretKeyRef, a Secret name, a file or path, a credentials provider,
/// `${…}` read from the environment at run time) or a harmless setting
/// (token renewal), or nothing at all.
pub fn is_reference(key: &str, value: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    value.is_empty()
        || value.starts_with("${")
        || lower.contains(".secrets.")
        || lower.contains("secretkeyref")
        || lower.contains("token.renewal")
        || [".provider", ".file", ".path"].iter().any(|end| lower.ends_with(end))
}

/// Whether a property is a credential written in plain text.
pub fn is_inline_property(key: &str, value: &str) -> bool {
    looks_secret(key) && !is_reference(key, value)
}

/// Where a credential is written inline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InlineSecret {
    /// An environment variable named like a credential with a literal value.
    Env {
        /// `spec.env[i].value` (or the driver's or executor's).
        path: FieldPath,
        /// The variable.
        name: String,
    },
    /// A Spark or Hadoop property naming a credential with a literal value.
    Property {
        /// `spec.sparkConf."…"` or `spec.hadoopConf."…"`.
        path: FieldPath,
        /// The property.
        key: String,
    },
}

impl InlineSecret {
    /// The field that holds it.
    pub fn path(&self) -> &FieldPath {
        match self {
            InlineSecret::Env { path, .. } | InlineSecret::Property { path, .. } => path,
        }
    }
}

/// Every credential a job writes inline: environment variables (job-wide,
/// driver, executor), then `sparkConf`, then `hadoopConf`.
pub fn inline_secrets(spec: &SparkJobSpec) -> Vec<InlineSecret> {
    let root = FieldPath::root().key("spec");
    let mut lists = vec![(root.key("env"), &spec.env)];
    if let Some(d) = &spec.driver {
        lists.push((root.key("driver").key("env"), &d.role.env));
    }
    if let Some(e) = &spec.executor {
        lists.push((root.key("executor").key("env"), &e.role.env));
    }
    let mut found = Vec::new();
    for (base, vars) in lists {
        for (i, var) in vars.iter().enumerate() {
            if var.value.as_deref().is_some_and(|v| !v.is_empty()) && looks_secret(&var.name) {
                found.push(InlineSecret::Env { path: base.index(i).key("value"), name: var.name.clone() });
            }
        }
    }
    for (map, conf) in [("sparkConf", &spec.spark_conf), ("hadoopConf", &spec.hadoop_conf)] {
        for (key, value) in conf {
            if is_inline_property(key, value) {
                found.push(InlineSecret::Property { path: root.key(map).key(key), key: key.clone() });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_keys_and_reference_forms() {
        // (key, value, inline?)
        let table: &[(&str, &str, bool)] = &[
            ("spark.myapp.api.key", "abc123", true),
            ("spark.hadoop.fs.s3a.secret.key", "s3cr3t", true),
            ("DB_PASSWORD", "hunter2", true),
            ("fs.s3a.access.key", "AKIA", true),
            ("spark.myapp.token", "t", true),
            // not a credential
            ("spark.sql.shuffle.partitions", "400", false),
            // references and harmless settings, one entry per form
            ("spark.myapp.password", "", false),
            ("spark.myapp.password", "${DB_PASSWORD}", false),
            ("spark.kubernetes.driver.secrets.db-creds", "/etc/db", false),
            ("spark.kubernetes.driver.secretKeyRef.DB_PASSWORD", "db:password", false),
            ("spark.security.credentials.hive.token.renewal.enabled", "false", false),
            ("fs.s3a.aws.credentials.provider", "com.amazonaws.auth.WebIdentityTokenCredentialsProvider", false),
            ("spark.ssl.keyStorePassword.file", "/etc/ssl/pass", false),
            ("spark.myapp.token.path", "/var/run/token", false),
        ];
        for (key, value, inline) in table {
            assert_eq!(is_inline_property(key, value), *inline, "{key}={value}");
        }
    }
}
