//! How a Spark Connect server's JVM starts, and what makes it and a local
//! application's driver start fast (ADR 0022, "Cold start"): the `java`
//! command Spark's own launcher builds (what spark-submit's scripts would exec
//! after a launcher JVM of their own), cached per runtime, Java and driver
//! settings so later servers run it directly; and a class-data-sharing
//! archive (JDK 13+ dynamic AppCDS) of the classes a driver loads, written by
//! the first JVM as it exits and mapped by every later one (a local
//! application's driver gets its options through `spark.driver.extraJavaOptions`).
//!
//! Both live under `<runtime>/jvm/<key>/` (removed with the runtime):
//! `launch.json` (the command up to Spark's main class) and `classes.jsa`. An
//! archive becomes `classes.jsa` only after a test JVM has mapped it with
//! `-Xshare:on` — a truncated archive crashes the JVM that maps it — and a
//! server that fails to start while mapping one removes it. One JVM at a time
//! writes it (`classes.jsa.writing` marks the claim; the others start
//! without). Every failure here falls back without a word: to spark-submit
//! when the launcher cannot be run, to no archive when the JVM cannot share
//! classes. A faster start is never worth a failed one.
//!
//! It must not start the server or see its token (`connect_server` does), nor
//! import `connect` (which imports it); the only processes it runs are Spark's
//! launcher and the archive's test JVM.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

/// Spark's entry point the launcher's command ends in.
pub const SUBMIT_CLASS: &str = "org.apache.spark.deploy.SparkSubmit";
/// The driver settings Spark's launcher turns into JVM options; the cached
/// command depends on them, so they are part of its key.
pub const DRIVER_KEYS: &[&str] = &[
    "spark.driver.defaultJavaOptions",
    "spark.driver.extraClassPath",
    "spark.driver.extraJavaOptions",
    "spark.driver.extraLibraryPath",
    "spark.driver.memory",
];
/// Unified-logging selector that keeps the archive's messages (its dump's
/// warnings about classes it skips, a stale archive's fallback) out of the
/// server's log.
const QUIET_CDS: &str = "-Xlog:cds*=off";

/// What the JVM and Spark it starts from are.
#[derive(Clone, Debug)]
pub struct JvmInputs<'a> {
    /// The `java` executable.
    pub java: &'a Path,
    /// `java -version`'s version, e.g. `17.0.15`.
    pub java_version: &'a str,
    /// Whether that VM maps a class-data archive (`java::shares_classes`).
    pub sharing: bool,
    /// The runtime's SPARK_HOME.
    pub spark_home: &'a Path,
    /// The runtime's pyspark release.
    pub spark_version: &'a str,
    /// The server's Spark settings ([`driver_conf`] keeps the ones that matter here).
    pub conf: &'a BTreeMap<String, String>,
}

/// The class-data archive a start uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassArchive {
    /// Map this finished archive.
    Map(PathBuf),
    /// Write one at exit; [`finish`] checks it and makes it `classes.jsa`.
    Write(PendingArchive),
}

/// An archive a server's JVM writes as it exits, to be checked and kept by
/// [`finish`] once that JVM has gone. Kept in the background server's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingArchive {
    /// The JVM that maps it in the check.
    pub java: PathBuf,
    /// The class path it was written for (the check uses the same).
    pub classpath: String,
    /// Where the JVM writes it.
    pub partial: PathBuf,
    /// Its name once checked.
    pub target: PathBuf,
}

/// A direct start of the server's JVM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JvmLaunch {
    /// `java` and its options, up to (not including) [`SUBMIT_CLASS`].
    pub command: Vec<String>,
    /// The archive it maps or writes, when the VM shares classes.
    pub archive: Option<ClassArchive>,
}

impl JvmLaunch {
    /// `command` with the archive's options and `extra` JVM options added
    /// before Spark's main class.
    pub fn jvm_command(&self, extra: &[&str]) -> Vec<String> {
        let mut command = self.command.clone();
        command.extend(self.archive_options());
        command.extend(extra.iter().map(|s| (*s).to_owned()));
        command
    }

    /// The JVM options that map or write the archive (none without one).
    pub fn archive_options(&self) -> Vec<String> {
        match &self.archive {
            Some(ClassArchive::Map(path)) => {
                vec![format!("-XX:SharedArchiveFile={}", path.display()), "-Xshare:auto".into(), QUIET_CDS.into()]
            }
            Some(ClassArchive::Write(pending)) => {
                vec![format!("-XX:ArchiveClassesAtExit={}", pending.partial.display()), QUIET_CDS.into()]
            }
            None => Vec::new(),
        }
    }

    /// `conf` with the archive's options added to the driver's Java options
    /// (after any the conf has), for a driver spark-submit starts: Spark's
    /// launcher splits that setting as a shell would, so a path with a space
    /// or a quote is quoted. Options of the job's own that already say how
    /// to share classes (`-Xshare:`, an archive of its own) are left alone.
    pub fn with_archive_options(&self, conf: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut conf = conf.clone();
        let options: Vec<String> = self.archive_options().iter().map(|o| quote_option(o)).collect();
        let own = conf.get(DRIVER_JAVA_OPTIONS).map(String::as_str).unwrap_or_default();
        let own_sharing = ["-Xshare:", "SharedArchiveFile", "ArchiveClassesAtExit"].iter().any(|o| own.contains(o));
        if options.is_empty() || own_sharing {
            return conf;
        }
        let entry = conf.entry(DRIVER_JAVA_OPTIONS.to_owned()).or_default();
        let joined = options.join(" ");
        *entry = if entry.trim().is_empty() { joined } else { format!("{entry} {joined}") };
        conf
    }

    /// The archive this start writes, for [`finish`].
    pub fn pending(&self) -> Option<&PendingArchive> {
        match &self.archive {
            Some(ClassArchive::Write(pending)) => Some(pending),
            _ => None,
        }
    }

    /// The finished archive this start maps.
    pub fn mapped(&self) -> Option<&Path> {
        match &self.archive {
            Some(ClassArchive::Map(path)) => Some(path),
            _ => None,
        }
    }
}

/// The driver's JVM options setting.
const DRIVER_JAVA_OPTIONS: &str = "spark.driver.extraJavaOptions";

/// One option as Spark's launcher reads it back from a space-separated
/// setting: as it is when plain, else in double quotes with `"` and `\\`
/// escaped.
fn quote_option(option: &str) -> String {
    if !option.chars().any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\') {
        return option.to_owned();
    }
    let mut quoted = String::from('"');
    for c in option.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// Where a located runtime's launch cache and archives live, and its Spark
/// version: a managed runtime's own folder (removed with it), else
/// `<home>/cache` for a user's SPARK_HOME.
pub fn cache_dir(home: &Path, line: &str, source: &crate::runtime::Source) -> (String, PathBuf) {
    match source {
        crate::runtime::Source::Managed { version, .. } => (version.clone(), crate::runtime::runtime_dir(home, line)),
        crate::runtime::Source::User { version } => (version.clone().unwrap_or_default(), home.join("cache")),
    }
}

/// [`plan`] for a local application's driver with `conf` on `located` (the
/// runtime of `line` under `home`) started by `java`. spark-submit starts
/// that driver, so only the archive is used, and of `conf` only the class
/// path it depends on is part of the key: one archive per runtime, Java and
/// class path, however many jobs with their own driver settings run.
pub fn plan_for_application(
    home: &Path,
    line: &str,
    located: &crate::runtime::Located,
    java: &crate::java::JavaInfo,
    conf: &BTreeMap<String, String>,
) -> Option<JvmLaunch> {
    let class_path = "spark.driver.extraClassPath";
    let conf: BTreeMap<String, String> =
        conf.iter().filter(|(k, _)| *k == class_path).map(|(k, v)| (k.clone(), v.clone())).collect();
    let conf = &conf;
    let (version, launch_cache) = cache_dir(home, line, &located.source);
    let inputs = JvmInputs {
        java: &java.java,
        java_version: &java.version.text,
        sharing: java.sharing,
        spark_home: &located.spark_home,
        spark_version: &version,
        conf,
    };
    plan(&launch_cache, &inputs)
}

/// The settings among `conf` that change the launcher's command.
pub fn driver_conf(conf: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    conf.iter().filter(|(k, _)| DRIVER_KEYS.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// 64-bit FNV-1a: a short, stable name for a cache entry (not a checksum of anything secret).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The environment variables Spark's launcher reads when it builds a
/// driver's `java` command: its configuration folders, the JVM options and
/// memory it adds (`SPARK_SUBMIT_OPTS`, `SPARK_DRIVER_MEMORY`) and the class
/// path it extends. A command cached without one of them set is not the
/// command with it set.
pub const LAUNCHER_ENV: &[&str] = &[
    "SPARK_CONF_DIR",
    "SPARK_SUBMIT_OPTS",
    "SPARK_DRIVER_MEMORY",
    "SPARK_DIST_CLASSPATH",
    "HADOOP_CONF_DIR",
    "YARN_CONF_DIR",
];

/// [`LAUNCHER_ENV`] as this process has it (the unset ones left out).
pub fn launcher_env() -> Vec<(&'static str, String)> {
    LAUNCHER_ENV.iter().filter_map(|name| std::env::var(name).ok().map(|value| (*name, value))).collect()
}

/// The cache entry's name: a hash of everything the command and the archive
/// depend on (the Java, the Spark, its jars folder's modification time, the
/// driver settings, the launcher's environment `env` as [`launcher_env`] gives it).
pub fn cache_key(inputs: &JvmInputs<'_>, jars_modified_ns: u128, env: &[(&str, String)]) -> String {
    let mut text = format!(
        "java={}\njava.version={}\nspark.home={}\nspark.version={}\njars.modified={jars_modified_ns}\n",
        inputs.java.display(),
        inputs.java_version,
        inputs.spark_home.display(),
        inputs.spark_version,
    );
    for (name, value) in env {
        text.push_str(&format!("env.{name}={value}\n"));
    }
    for (k, v) in driver_conf(inputs.conf) {
        text.push_str(&format!("{k}={v}\n"));
    }
    format!("{:016x}", fnv1a(&text))
}

/// The command Spark's launcher printed (arguments ended by NUL), up to its
/// main class; `None` when it printed something else.
pub fn parse_launcher_output(output: &[u8]) -> Option<Vec<String>> {
    // It frames the command with a NUL and a line break (spark-class reads up to them).
    let text = std::str::from_utf8(output).ok()?;
    let args: Vec<&str> = text.split('\0').map(|a| a.trim_matches(['\n', '\r'])).filter(|a| !a.is_empty()).collect();
    let at = args.iter().position(|a| *a == SUBMIT_CLASS)?;
    let prefix: Vec<String> = args[..at].iter().map(|a| (*a).to_owned()).collect();
    usable(&prefix).then_some(prefix)
}

/// Whether a command starts with `java` and names a class path.
fn usable(command: &[String]) -> bool {
    command.first().is_some_and(|j| j.ends_with("java") && Path::new(j).is_absolute())
        && classpath_of(command).is_some()
}

/// The class path in a command (`-cp X`).
pub fn classpath_of(command: &[String]) -> Option<&str> {
    let at = command.iter().position(|a| a == "-cp" || a == "-classpath")?;
    command.get(at + 1).map(String::as_str)
}

/// The Scala version of a Spark home's jars (`spark-core_2.13-4.1.4.jar` → `2.13`).
fn scala_version(jars: &Path) -> Option<String> {
    std::fs::read_dir(jars).ok()?.filter_map(Result::ok).find_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rest = name.strip_prefix("spark-core_")?;
        rest.split('-').next().map(str::to_owned)
    })
}

fn run_launcher(inputs: &JvmInputs<'_>, jars: &Path) -> Option<Vec<String>> {
    let scala = scala_version(jars)?;
    let mut command = Command::new(inputs.java);
    command
        .arg("-Xmx128m")
        .arg("-cp")
        .arg(format!("{}/*", jars.display()))
        .arg("org.apache.spark.launcher.Main")
        .arg(SUBMIT_CLASS);
    for (k, v) in driver_conf(inputs.conf) {
        command.arg("--conf").arg(format!("{k}={v}"));
    }
    // The command up to SparkSubmit does not depend on the class it will start.
    command.args(["--class", "org.apache.spark.examples.SparkPi", "spark-internal"]);
    command.env("SPARK_HOME", inputs.spark_home).env("SPARK_SCALA_VERSION", scala);
    if let Some(java_home) = inputs.java.parent().and_then(Path::parent) {
        command.env("JAVA_HOME", java_home);
    }
    let out = command.stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    parse_launcher_output(&out.stdout)
}

#[derive(Serialize, Deserialize)]
struct CachedLaunch {
    command: Vec<String>,
}

fn nonce() -> String {
    let ns = std::time::SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{}-{ns}", std::process::id())
}

/// How to start the JVM directly, from the cache under `runtime_dir` (filled
/// on first use by running Spark's launcher once); `None` when the launcher
/// cannot say, and the caller starts spark-submit instead.
pub fn plan(runtime_dir: &Path, inputs: &JvmInputs<'_>) -> Option<JvmLaunch> {
    let jars = inputs.spark_home.join("jars");
    let modified = std::fs::metadata(&jars)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = runtime_dir.join("jvm").join(cache_key(inputs, modified, &launcher_env()));
    let cached = dir.join("launch.json");
    let command =
        match std::fs::read_to_string(&cached).ok().and_then(|t| serde_json::from_str::<CachedLaunch>(&t).ok()) {
            Some(c) if usable(&c.command) => c.command,
            _ => {
                let command = run_launcher(inputs, &jars)?;
                // A cache that cannot be written only costs the launcher's run next time.
                let partial = dir.join(format!(".launch.json.{}", nonce()));
                let text = serde_json::to_string_pretty(&CachedLaunch { command: command.clone() }).unwrap_or_default();
                let _ = std::fs::create_dir_all(&dir)
                    .and_then(|()| std::fs::write(&partial, text))
                    .and_then(|()| std::fs::rename(&partial, &cached));
                command
            }
        };
    let archive = match (inputs.sharing, classpath_of(&command)) {
        (true, Some(classpath)) => {
            let target = dir.join("classes.jsa");
            if target.is_file() {
                Some(ClassArchive::Map(target))
            } else if claim_writing(&target) {
                Some(ClassArchive::Write(PendingArchive {
                    java: PathBuf::from(&command[0]),
                    classpath: classpath.to_owned(),
                    partial: dir.join(format!("classes.jsa.{}.partial", nonce())),
                    target,
                }))
            } else {
                // Another JVM is writing it: this one starts without (writing costs its start time).
                None
            }
        }
        _ => None,
    };
    Some(JvmLaunch { command, archive })
}

/// How long a claim to write an archive holds: a writer that has not
/// finished by then (killed, or its machine restarted) no longer blocks others.
const WRITING_CLAIM: std::time::Duration = std::time::Duration::from_secs(600);

/// The marker that one JVM is writing `target`.
fn writing_marker(target: &Path) -> PathBuf {
    target.with_extension("jsa.writing")
}

/// Claims the writing of `target`, so that of JVMs starting together (a
/// fresh runtime, parallel runs) one pays the archive's dump and the others
/// start as they would without one; a claim older than [`WRITING_CLAIM`] is
/// taken over.
fn claim_writing(target: &Path) -> bool {
    let marker = writing_marker(target);
    let create = || std::fs::OpenOptions::new().write(true).create_new(true).open(&marker).is_ok();
    if create() {
        return true;
    }
    let stale = std::fs::metadata(&marker)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > WRITING_CLAIM);
    stale && std::fs::remove_file(&marker).is_ok() && create()
}

/// After the JVM that wrote `pending` has gone: keeps its archive as the
/// runtime's `classes.jsa` when a JVM maps it with `-Xshare:on` (so it is
/// whole and fits this Java and class path), removes it otherwise. Returns
/// whether it was kept.
pub fn finish(pending: &PendingArchive) -> bool {
    let kept = keep_if_it_maps(pending);
    let _ = std::fs::remove_file(writing_marker(&pending.target));
    kept
}

fn keep_if_it_maps(pending: &PendingArchive) -> bool {
    if !pending.partial.is_file() {
        return false;
    }
    let maps = Command::new(&pending.java)
        .arg("-Xshare:on")
        .arg(format!("-XX:SharedArchiveFile={}", pending.partial.display()))
        .arg(QUIET_CDS)
        .arg("-cp")
        .arg(&pending.classpath)
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if maps && std::fs::rename(&pending.partial, &pending.target).is_ok() {
        return true;
    }
    let _ = std::fs::remove_file(&pending.partial);
    false
}

/// Removes an archive a server failed to start with, so the next start goes
/// without it (and writes a new one).
pub fn discard(archive: &Path) {
    let _ = std::fs::remove_file(archive);
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAUNCHER: &[u8] = b"\0\n/usr/lib/jvm/java-17/bin/java\0-cp\0/s/conf:/s/jars/slf4j-api-2.0.17.jar:/s/jars/*\0-Xmx1g\0-XX:+IgnoreUnrecognizedVMOptions\0--add-opens=java.base/java.lang=ALL-UNNAMED\0org.apache.spark.deploy.SparkSubmit\0--class\0x\0spark-internal\0";

    #[test]
    fn the_launchers_command_is_read_up_to_sparks_main_class() {
        let command = parse_launcher_output(LAUNCHER).unwrap();
        assert_eq!(command.first().map(String::as_str), Some("/usr/lib/jvm/java-17/bin/java"));
        assert_eq!(command.last().map(String::as_str), Some("--add-opens=java.base/java.lang=ALL-UNNAMED"));
        assert_eq!(classpath_of(&command), Some("/s/conf:/s/jars/slf4j-api-2.0.17.jar:/s/jars/*"));
        // A launcher error (a stack trace, no command) or a command without java or class path is not used.
        assert_eq!(parse_launcher_output(b"Exception in thread \"main\" ...\n"), None);
        assert_eq!(parse_launcher_output(b"/bin/sh\0-cp\0x\0org.apache.spark.deploy.SparkSubmit\0"), None);
        assert_eq!(parse_launcher_output(b"/j/java\0-Xmx1g\0org.apache.spark.deploy.SparkSubmit\0"), None);
        assert_eq!(parse_launcher_output(b"java\0-cp\0x\0org.apache.spark.deploy.SparkSubmit\0"), None, "not a path");
        assert_eq!(parse_launcher_output(&[0xff, 0xfe]), None);
    }

    fn inputs<'a>(conf: &'a BTreeMap<String, String>, java_version: &'a str) -> JvmInputs<'a> {
        JvmInputs {
            java: Path::new("/j/bin/java"),
            java_version,
            sharing: true,
            spark_home: Path::new("/s"),
            spark_version: "4.1.4",
            conf,
        }
    }

    #[test]
    fn the_key_follows_java_spark_jars_driver_settings_and_the_launchers_environment_only() {
        let mut conf = BTreeMap::new();
        conf.insert("spark.sql.shuffle.partitions".to_owned(), "4".to_owned());
        let base = cache_key(&inputs(&conf, "17.0.15"), 1, &[]);
        assert_eq!(base.len(), 16);
        assert_eq!(base, cache_key(&inputs(&conf, "17.0.15"), 1, &[]), "stable");
        let mut other = conf.clone();
        other.insert("spark.sql.shuffle.partitions".to_owned(), "8".to_owned());
        assert_eq!(base, cache_key(&inputs(&other, "17.0.15"), 1, &[]), "a query setting does not matter");
        other.insert("spark.driver.memory".to_owned(), "2g".to_owned());
        assert_ne!(base, cache_key(&inputs(&other, "17.0.15"), 1, &[]), "driver memory does");
        assert_ne!(base, cache_key(&inputs(&conf, "17.0.16"), 1, &[]), "another Java does");
        assert_ne!(base, cache_key(&inputs(&conf, "17.0.15"), 2, &[]), "changed jars do");
        assert_ne!(
            base,
            cache_key(&inputs(&conf, "17.0.15"), 1, &[("SPARK_CONF_DIR", "/etc/spark".to_owned())]),
            "a conf dir does"
        );
        let quick = [("SPARK_SUBMIT_OPTS", "-XX:TieredStopAtLevel=1".to_owned())];
        assert_ne!(base, cache_key(&inputs(&conf, "17.0.15"), 1, &quick), "the launcher's JVM options do");
        let memory =
            [("SPARK_SUBMIT_OPTS", "-XX:TieredStopAtLevel=1".to_owned()), ("SPARK_DRIVER_MEMORY", "2g".to_owned())];
        assert_ne!(
            cache_key(&inputs(&conf, "17.0.15"), 1, &quick),
            cache_key(&inputs(&conf, "17.0.15"), 1, &memory),
            "each variable does"
        );
    }

    #[test]
    fn the_archive_options_map_or_write_and_come_before_sparks_class() {
        let command = vec!["/j/bin/java".to_owned(), "-cp".to_owned(), "/s/jars/*".to_owned()];
        let pending = PendingArchive {
            java: "/j/bin/java".into(),
            classpath: "/s/jars/*".into(),
            partial: "/r/jvm/k/classes.jsa.1.partial".into(),
            target: "/r/jvm/k/classes.jsa".into(),
        };
        let write = JvmLaunch { command: command.clone(), archive: Some(ClassArchive::Write(pending.clone())) };
        assert_eq!(
            write.jvm_command(&["-XX:TieredStopAtLevel=1"])[3..],
            ["-XX:ArchiveClassesAtExit=/r/jvm/k/classes.jsa.1.partial", QUIET_CDS, "-XX:TieredStopAtLevel=1"]
        );
        assert_eq!((write.pending(), write.mapped()), (Some(&pending), None));
        let map =
            JvmLaunch { command: command.clone(), archive: Some(ClassArchive::Map("/r/jvm/k/classes.jsa".into())) };
        assert_eq!(
            map.jvm_command(&[])[3..],
            ["-XX:SharedArchiveFile=/r/jvm/k/classes.jsa", "-Xshare:auto", QUIET_CDS]
        );
        assert_eq!(map.mapped(), Some(Path::new("/r/jvm/k/classes.jsa")));
        let none = JvmLaunch { command, archive: None };
        assert_eq!(none.jvm_command(&[]).len(), 3);
    }

    #[test]
    fn a_drivers_java_options_keep_their_own_and_gain_the_archives_quoted() {
        let launch = |archive| JvmLaunch { command: vec!["java".into()], archive };
        let mapped = launch(Some(ClassArchive::Map(PathBuf::from("/h/runtimes/3.5/jvm/k/classes.jsa"))));
        let none = BTreeMap::new();
        assert_eq!(
            mapped.with_archive_options(&none)[DRIVER_JAVA_OPTIONS],
            "-XX:SharedArchiveFile=/h/runtimes/3.5/jvm/k/classes.jsa -Xshare:auto -Xlog:cds*=off"
        );
        let own = BTreeMap::from([(DRIVER_JAVA_OPTIONS.to_owned(), "-Dx=1".to_owned()), ("a".into(), "b".into())]);
        let merged = mapped.with_archive_options(&own);
        assert_eq!(merged["a"], "b");
        assert!(merged[DRIVER_JAVA_OPTIONS].starts_with("-Dx=1 -XX:SharedArchiveFile="), "{merged:?}");
        let spaced = launch(Some(ClassArchive::Write(PendingArchive {
            java: PathBuf::from("java"),
            classpath: "/s/jars/*".into(),
            partial: PathBuf::from("/my home/a\"b.partial"),
            target: PathBuf::from("/my home/classes.jsa"),
        })));
        assert_eq!(
            spaced.with_archive_options(&none)[DRIVER_JAVA_OPTIONS],
            "\"-XX:ArchiveClassesAtExit=/my home/a\\\"b.partial\" -Xlog:cds*=off"
        );
        assert_eq!(launch(None).with_archive_options(&own), own, "no archive, the conf as it was");
        let off = BTreeMap::from([(DRIVER_JAVA_OPTIONS.to_owned(), "-Dx=1 -Xshare:off".to_owned())]);
        assert_eq!(mapped.with_archive_options(&off), off, "the job's own choice of sharing stands");
    }

    #[test]
    fn a_missing_or_broken_archive_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let pending = PendingArchive {
            java: "/nonexistent/java".into(),
            classpath: String::new(),
            partial: dir.path().join("classes.jsa.1.partial"),
            target: dir.path().join("classes.jsa"),
        };
        assert!(!finish(&pending), "nothing written");
        std::fs::write(&pending.partial, b"not an archive").unwrap();
        assert!(!finish(&pending), "no JVM maps it");
        assert!(!pending.partial.exists() && !pending.target.exists(), "removed, not kept");
    }

    #[test]
    fn one_start_at_a_time_writes_the_archive_and_a_stale_claim_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("classes.jsa");
        assert!(claim_writing(&target), "the first start writes it");
        assert!(!claim_writing(&target), "a second start meanwhile goes without");
        let pending = PendingArchive {
            java: "/nonexistent/java".into(),
            classpath: String::new(),
            partial: dir.path().join("classes.jsa.1.partial"),
            target: target.clone(),
        };
        assert!(!finish(&pending));
        assert!(claim_writing(&target), "finished (kept or not), the claim is released");
        let old = std::time::SystemTime::now() - WRITING_CLAIM - std::time::Duration::from_secs(5);
        std::fs::File::options().write(true).open(writing_marker(&target)).unwrap().set_modified(old).unwrap();
        assert!(claim_writing(&target), "a claim older than WRITING_CLAIM is taken over");
        assert!(!claim_writing(&target));
    }
}
