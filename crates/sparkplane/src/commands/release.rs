//! `sparkplane release`, `release keygen`, `verify` and `releases`: the I/O
//! around the delivery crate's releases — resolving the job through the one
//! loader and policy gate `render` uses, finding the source commit, reading
//! the CI report, requirements and keys, stamping who and when, and storing
//! and listing through the release store `--store` picks (`release_store`).
//!
//! Owns: settings and their defaults (store `releases/` next to the job,
//! requirements `requirements.txt` next to it, who from `--by`,
//! `$SPARKPLANE_USER`, `$USER`, the git author or the OS user). Must not: build records, SBOMs or
//! signatures, or judge a release (`sparkplane_delivery` does).

use std::path::{Path, PathBuf};

use sparkplane_core::Diagnostic;
use sparkplane_core::render::Target;
use sparkplane_delivery::cdevents::{Step, release_purl};
use sparkplane_delivery::release::{self, ReleaseInput};
use sparkplane_delivery::release_record::{ReleaseRecord, SBOM_FILE};
use sparkplane_delivery::release_verify::{self, Verdict};
use sparkplane_delivery::sbom::{Requirement, parse_requirements};
use sparkplane_delivery::sign::{PrivateKey, PublicKey};
use sparkplane_delivery::store::{DirStore, PutOutcome};
use sparkplane_kube::Target as ClusterTarget;

use super::policy::PolicySettings;
use super::release_store::{OpenStore, StoreChoice, store_failure};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::JobSettings;

/// What `release` needs, in plain terms.
#[derive(Clone, Debug)]
pub struct ReleaseSettings {
    /// The job and the environment released (`env` is always set).
    pub job: JobSettings,
    /// The policy gate's settings.
    pub policy: PolicySettings,
    /// `--commit`; default `git rev-parse HEAD` in the job file's directory.
    pub commit: Option<String>,
    /// `--ci-report`.
    pub ci_report: Option<PathBuf>,
    /// `--key`: the private key that signs; unsigned without.
    pub key: Option<PathBuf>,
    /// `--out`/`--store`: the release store (`cluster`: ConfigMaps in the cluster); default `releases/` next
    /// to the job file.
    pub out: Option<PathBuf>,
    /// The cluster and namespace of `--store cluster` (default namespace: the job's in the environment).
    pub cluster: ClusterTarget,
    /// `--by`, else `$SPARKPLANE_USER`, `$USER`, the git author, the OS user ([`released_by`]).
    pub by: Option<String>,
    /// `--requirements`; default `requirements.txt` next to the job file, when there.
    pub requirements: Option<PathBuf>,
    /// Where the release's CDEvents go (artifact packaged, signed, published).
    pub events: crate::events::Events,
}

fn job_dir(job: &Path) -> &Path {
    job.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// The store a command uses: `--out`/`--store`, else `releases/` next to the job file.
pub fn default_store(job: &Path) -> PathBuf {
    job_dir(job).join("releases")
}

fn invalid(code: &'static str, path: &str, message: impl Into<String>, help: &str) -> Failure {
    Failure::Invalid(Diagnostic::error(code, path, message).with_help(help).into())
}

fn read_file(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::unreadable(path, &e))
}

/// The source commit: `--commit`, else HEAD of the git repository holding the job file.
pub(crate) fn source_commit(flag: Option<&str>, job: &Path) -> Result<String, Failure> {
    if let Some(commit) = flag {
        let commit = commit.trim();
        if commit.is_empty()
            || !commit.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        {
            return Err(invalid(
                "bad-flag",
                "--commit",
                format!("`{commit}` is not a commit id"),
                "pass the commit's id, e.g. --commit $(git rev-parse HEAD)",
            ));
        }
        return Ok(commit.to_owned());
    }
    let output = std::process::Command::new("git").arg("-C").arg(job_dir(job)).args(["rev-parse", "HEAD"]).output();
    match output {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned()),
        _ => Err(invalid(
            "no-source-commit",
            "--commit",
            format!("no source commit: {} is not in a git repository with a commit", job.display()),
            "release from a git checkout, or pass --commit SHA",
        )),
    }
}

/// Where the name of who releases, promotes or rolls back came from, in the order it is looked for.
const WHO_SOURCES: &str = "--by, $SPARKPLANE_USER, $USER, git config user.name, the commit's author, the OS user";

/// A name that can go into a record: not empty, no control characters.
fn usable(name: &str) -> Option<String> {
    let name = name.trim();
    (!name.is_empty() && !name.chars().any(char::is_control)).then(|| name.to_owned())
}

/// What a command prints, trimmed, when it succeeds.
fn output_of(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = std::process::Command::new(program).args(args).current_dir(dir).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Who releases (or promotes, or rolls back): `--by`, else `$SPARKPLANE_USER`, else `$USER`, else — where
/// those are not set, as in many containers and CI jobs — the git author at the job file's checkout (`git
/// config user.name`, else the author of its HEAD commit), else the name of the OS user running sparkplane.
/// A name found by a fallback is said on stderr, so the record's `by` is never a surprise.
pub(crate) fn released_by(flag: Option<&str>, job: &Path, printer: &Printer) -> Result<String, Failure> {
    if let Some(flag) = flag {
        return usable(flag).ok_or_else(|| {
            invalid("bad-flag", "--by", format!("`{flag}` is not a name"), "pass --by NAME (no control characters)")
        });
    }
    for var in ["SPARKPLANE_USER", "USER"] {
        if let Some(who) = std::env::var(var).ok().as_deref().and_then(usable) {
            return Ok(who);
        }
    }
    let dir = job_dir(job);
    let fallbacks: [(&str, &[&str], &str); 3] = [
        ("git", &["config", "user.name"], "git config user.name"),
        ("git", &["log", "-1", "--format=%an"], "the author of the checkout's HEAD commit"),
        ("id", &["-un"], "the OS user"),
    ];
    for (program, args, what) in fallbacks {
        if let Some(who) = output_of(program, args, dir).as_deref().and_then(usable) {
            printer.status(&format!("recorded as by {who} ({what}; --by or $SPARKPLANE_USER names someone else)"));
            return Ok(who);
        }
    }
    Err(invalid(
        "bad-flag",
        "--by",
        format!("who this is by is not known: none of {WHO_SOURCES} gives a name"),
        "pass --by NAME, or set SPARKPLANE_USER (no control characters)",
    ))
}

fn requirements(settings: &ReleaseSettings) -> Result<(Vec<Requirement>, Option<PathBuf>), Failure> {
    let path = match &settings.requirements {
        Some(path) => path.clone(),
        None => {
            let default = job_dir(&settings.job.path).join("requirements.txt");
            if !default.is_file() {
                return Ok((Vec::new(), None));
            }
            default
        }
    };
    let text = read_file(&path)?;
    let list = parse_requirements(&text).map_err(|e| {
        invalid("bad-requirements", "", format!("{}: {e}", path.display()), "write one `name==version` a line")
    })?;
    Ok((list, Some(path)))
}

/// Reads a private key file.
fn private_key(path: &Path) -> Result<PrivateKey, Failure> {
    PrivateKey::from_pem(&read_file(path)?).map_err(|e| {
        invalid(
            "bad-key",
            "--key",
            format!("{}: {e}", path.display()),
            "make a key pair with `sparkplane release keygen --out DIR`",
        )
    })
}

/// Reads a public key file.
fn public_key(path: &Path) -> Result<PublicKey, Failure> {
    PublicKey::from_pem(&read_file(path)?).map_err(|e| {
        invalid(
            "bad-key",
            "--key",
            format!("{}: {e}", path.display()),
            "pass the public key (release.pub) of the key that signed",
        )
    })
}

pub(crate) fn now() -> String {
    sparkplane_local::history::rfc3339(sparkplane_local::history::now_ms())
}

/// A new release's CDEvents: packaged (from its commit, with its SBOM),
/// signed (when it is), published (stored where deployments read it).
fn release_steps(record: &ReleaseRecord, signature: &str, dir: Option<&Path>) -> Vec<Step> {
    let artifact = release_purl(&record.job, &record.id);
    let sbom = dir.map(|d| d.join(SBOM_FILE).display().to_string());
    let mut steps = vec![Step::ArtifactPackaged {
        artifact: artifact.clone(),
        commit: record.source.commit.clone(),
        sbom: sbom.clone(),
    }];
    if !signature.trim().is_empty() {
        steps.push(Step::ArtifactSigned { artifact: artifact.clone(), signature: signature.trim().to_owned() });
    }
    steps.push(Step::ArtifactPublished { artifact, user: Some(record.released_by.clone()), sbom });
    steps
}

/// Runs `release`.
pub fn run(settings: &ReleaseSettings, printer: &Printer) -> CommandResult {
    let Some(env) = settings.job.env.clone() else {
        return Err(invalid("bad-flag", "--env", "a release is for one environment", "pass --env prod"));
    };
    let by = released_by(settings.by.as_deref(), &settings.job.path, printer)?;
    // The one load step and policy gate `render` runs: a tag-only image is refused for prod here.
    let (resolved, objects) = crate::workspace::render_objects(&settings.job, Target::Native)?;
    printer.warnings(&resolved.warnings);
    super::policy::enforce_with(&resolved, &objects, &settings.policy, printer, false)?;
    let commit = source_commit(settings.commit.as_deref(), &settings.job.path)?;
    let ci = match &settings.ci_report {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| Failure::unreadable(path, &e))?;
            let ci = release::ci_result(&bytes, resolved.name()).map_err(|e| {
                invalid(
                    "bad-ci-report",
                    "--ci-report",
                    format!("{}: {e}", path.display()),
                    "pass the file `sparkplane ci --format json` wrote for this job",
                )
            })?;
            if ci.outcome != "pass" {
                printer.status(&format!(
                    "warning: the CI report says `{}`; promotion will refuse this release until CI passes",
                    ci.outcome
                ));
            }
            Some(ci)
        }
        None => None,
    };
    let (requirements, requirements_file) = requirements(settings)?;
    let key = settings.key.as_deref().map(private_key).transpose()?;
    if key.is_none() {
        printer.status("warning: no --key: the release is not signed, and `sparkplane verify` will refuse it");
    }
    let released_at = now();
    let job_file = settings.job.path.display().to_string();
    let made = release::make(&ReleaseInput {
        resolved: &resolved,
        environment: &env,
        job_file: &job_file,
        commit: &commit,
        ci: ci.as_ref(),
        requirements: &requirements,
        released_by: &by,
        released_at: &released_at,
        key: key.as_ref(),
        tool_version: env!("CARGO_PKG_VERSION"),
    });
    let choice = StoreChoice::of(settings.out.as_deref(), default_store(&settings.job.path));
    let store = OpenStore::open(&choice, &settings.cluster, resolved.namespace())?;
    let outcome = store.store().put(&made.files, &made.record).map_err(|e| store_failure(&e))?;
    let dir = store.dir_of(&made.record.id);
    let place = store.place_of(&made.record.id);
    let record = &made.record;
    if outcome == PutOutcome::Created {
        settings.events.emit(&release_steps(record, &made.files.record_signature, dir.as_deref()), printer);
    }
    let report = serde_json::json!({
        "id": record.id, "dir": dir.as_ref().map(|d| d.display().to_string()),
        "configMap": matches!(store, OpenStore::Cluster(_)).then(|| place.trim_start_matches("ConfigMap ").to_owned()),
        "written": outcome == PutOutcome::Created,
        "contentHash": record.content_hash, "image": record.image.reference, "commit": record.source.commit,
        "sbomDigest": record.sbom.digest, "signedBy": record.signed_by,
        "requirements": requirements_file.map(|p| p.display().to_string()),
    });
    printer.result(&report, || {
        let signed = record.signed_by.as_deref().map_or("unsigned".to_owned(), |k| format!("signed by key {k}"));
        let head = match outcome {
            PutOutcome::Created => format!("released {}", record.id),
            PutOutcome::Unchanged => {
                format!("{} was already released (same spec, commit and CI report); kept as it was", record.id)
            }
        };
        format!(
            "{head}\n  job {} for {}, commit {}\n  image {}\n  content {}\n  sbom {}\n  {signed}\nin {}\n",
            record.job,
            record.environment,
            record.source.commit,
            if record.image.reference.is_empty() { "-" } else { &record.image.reference },
            record.content_hash,
            record.sbom.digest,
            place
        )
    });
    Ok(())
}

/// Exit 2 when the private key would be written inside a git work tree that
/// does not ignore it, where `git status` offers it and `git add -A` commits
/// it. Outside a work tree (or without git) there is nothing to check.
fn check_key_not_committable(out: &Path, private: &Path) -> Result<(), Failure> {
    let absolute = std::path::absolute(private).map_err(|e| Failure::unreadable(out, &e))?;
    // git runs in the nearest folder that exists: --out itself may be new.
    let Some(existing) = absolute.ancestors().skip(1).find(|dir| dir.is_dir()) else { return Ok(()) };
    let Some(top) = output_of("git", &["rev-parse", "--show-toplevel"], existing) else { return Ok(()) };
    let ignored = std::process::Command::new("git")
        .arg("check-ignore")
        .arg("-q")
        .arg(&absolute)
        .current_dir(existing)
        .status()
        .is_ok_and(|status| status.success());
    if ignored {
        return Ok(());
    }
    let folder = out.file_name().map_or_else(|| "keys".to_owned(), |n| n.to_string_lossy().into_owned());
    let ignore_file = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from(".gitignore"), |parent| parent.join(".gitignore"));
    Err(Failure::Invalid(
        Diagnostic::error(
            "key-not-ignored",
            "--out",
            format!(
                "{} would be a private key inside the git work tree {top}, and git does not ignore it: `git status` \
                 would offer it for commit; nothing was written",
                private.display()
            ),
        )
        .with_help(format!(
            "ignore the folder first (add `{folder}/` to {}), or pass --out a folder outside the work tree",
            ignore_file.display()
        ))
        .into(),
    ))
}

/// Runs `release keygen`: writes `release.key` (PKCS#8 PEM, mode 0600) and
/// `release.pub` into `out`, never over existing files, and never a private
/// key git would offer for commit ([`check_key_not_committable`]).
pub fn keygen(out: &Path, printer: &Printer) -> CommandResult {
    let key = PrivateKey::generate();
    let private = out.join("release.key");
    let public = out.join("release.pub");
    for path in [&private, &public] {
        if path.exists() {
            return Err(Failure::Failed(
                Diagnostic::error("key-exists", "", format!("{} exists; keys are never overwritten", path.display()))
                    .with_help("choose another --out directory, or remove the old key pair if it is no longer used")
                    .into(),
            ));
        }
    }
    check_key_not_committable(out, &private)?;
    let io = |path: &Path, e: std::io::Error| Failure::File {
        path: path.to_owned(),
        error: e.to_string(),
        help: "check that --out can be written".into(),
    };
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    write_private(&private, &key.to_pem()).map_err(|e| io(&private, e))?;
    std::fs::write(&public, key.public().to_pem()).map_err(|e| io(&public, e))?;
    let report = serde_json::json!({
        "privateKey": private.display().to_string(), "publicKey": public.display().to_string(), "keyId": key.public().key_id(),
    });
    printer.result(&report, || {
        format!(
            "wrote {} (private: keep it secret) and {}\nkey id {}\n",
            private.display(),
            public.display(),
            key.public().key_id()
        )
    });
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Runs `verify`: exit 1 naming each field or file that does not hold.
/// `release` is a release directory, or with `store` a release id read from
/// that store (a directory of releases, or `cluster`: its ConfigMap in
/// `--namespace`, else the context's namespace).
pub fn verify(
    release: &Path,
    key: &Path,
    store: Option<&Path>,
    cluster: &ClusterTarget,
    printer: &Printer,
) -> CommandResult {
    let key = public_key(key)?;
    let stored = match store {
        None => read_release_dir(release)?,
        Some(flag) => {
            let id = release.to_string_lossy();
            let choice = StoreChoice::of(Some(flag), PathBuf::new());
            let namespace = match (&choice, &cluster.namespace) {
                (StoreChoice::Cluster, None) => super::kube_view::cluster_settings(cluster)?.namespace,
                (_, namespace) => namespace.clone().unwrap_or_default(),
            };
            let store = OpenStore::open(&choice, cluster, &namespace)?;
            match store.store().get(&id).map_err(|e| store_failure(&e))? {
                Some(stored) => stored,
                None => {
                    return Err(invalid(
                        "unknown-release",
                        "RELEASE",
                        format!("no release `{id}` in {}", store.location()),
                        "pass an id that `sparkplane releases JOB --store ...` lists (and -n for another namespace)",
                    ));
                }
            }
        }
    };
    match release_verify::verify(&stored, &key) {
        Verdict::Unreadable(message) => {
            Err(Failure::Failed(Diagnostic::error("release-unreadable", "", message).into()))
        }
        Verdict::Valid(record) => {
            let report = serde_json::json!({"ok": true, "id": record.id, "keyId": key.key_id(), "problems": []});
            printer.result(&report, || {
                format!(
                    "verified {}: content hash, SBOM digest and both signatures match (key {})\n",
                    record.id,
                    key.key_id()
                )
            });
            Ok(())
        }
        Verdict::Invalid(record, problems) => {
            let report = serde_json::json!({
                "ok": false, "id": record.id, "keyId": key.key_id(),
                "problems": problems.iter().map(|p| serde_json::json!({"field": p.field, "message": p.message})).collect::<Vec<_>>(),
            });
            printer.result(&report, String::new);
            let diagnostics = problems
                .into_iter()
                .map(|p| {
                    Diagnostic::error("release-tampered", p.field, p.message)
                        .with_help("do not use this release; release the job again from its source")
                })
                .collect();
            Err(Failure::Failed(sparkplane_core::Diagnostics(diagnostics)))
        }
    }
}

/// A release directory's files, or exit 2 saying what a release directory holds.
fn read_release_dir(dir: &Path) -> Result<sparkplane_delivery::store::StoredRelease, Failure> {
    if !dir.is_dir() {
        return Err(Failure::File {
            path: dir.to_owned(),
            error: "not a directory".into(),
            help: "pass a release directory (releases/<id>/), or an id with --store".into(),
        });
    }
    DirStore::read_dir(dir).map_err(|e| Failure::File {
        path: dir.to_owned(),
        error: e.to_string(),
        help: "a release directory holds release.json and sbom.cdx.json".into(),
    })
}

/// Runs `releases`: the history of a job per environment, oldest first.
/// `job` is a job's name, or its file (its `metadata.name` is read).
/// With `diff` (two ids), the fields that differ between their specs instead.
///
/// With `--store cluster` the releases are listed in the namespace
/// `--namespace` names, else the job's namespace in `--env` (the job file
/// resolved for it), else the job file's `metadata.namespace`, else the
/// context's.
pub fn history(
    job: &str,
    env: Option<&str>,
    store: Option<&Path>,
    diff: Option<&[String]>,
    cluster: &ClusterTarget,
    platform_dir: Option<&Path>,
    printer: &Printer,
) -> CommandResult {
    let as_path = Path::new(job);
    let field = |doc: &sparkplane_core::yaml::Node, path: &str| {
        let path = sparkplane_core::yaml::FieldPath::parse(path).unwrap_or_default();
        doc.get(&path).and_then(sparkplane_core::yaml::Node::as_str).map(str::to_owned)
    };
    let (name, default, namespace) = if as_path.is_file() {
        let doc = crate::workspace::read_yaml(as_path)?;
        let name = field(&doc, "metadata.name").unwrap_or_default();
        (name, default_store(as_path), field(&doc, "metadata.namespace"))
    } else {
        (job.to_owned(), PathBuf::from("releases"), None)
    };
    let choice = StoreChoice::of(store, default);
    let namespace = match (&choice, env) {
        (StoreChoice::Cluster, Some(env)) if cluster.namespace.is_none() && as_path.is_file() => {
            let settings = crate::workspace::JobSettings {
                path: as_path.to_owned(),
                env: Some(env.to_owned()),
                sets: Vec::new(),
                platform_dir: platform_dir.map(Path::to_owned),
            };
            let resolved =
                crate::workspace::resolve_job(&settings, sparkplane_core::validate::ValidationTarget::Cluster)?;
            Some(resolved.namespace().to_owned())
        }
        _ => namespace,
    };
    let namespace = match (&choice, namespace) {
        (_, Some(namespace)) => namespace,
        (StoreChoice::Cluster, None) => super::kube_view::cluster_settings(cluster)?.namespace,
        (StoreChoice::Dir(_), None) => String::new(),
    };
    let store = OpenStore::open(&choice, cluster, &namespace)?;
    match diff {
        Some([a, b]) => diff_releases(&store, a, b, printer),
        _ => list(&name, env, &store, printer),
    }
}

/// A stored release's record, or exit 2 naming the id and the store.
fn stored_record(store: &OpenStore, id: &str) -> Result<ReleaseRecord, Failure> {
    let stored = store.store().get(id).map_err(|e| store_failure(&e))?;
    let Some(stored) = stored else {
        return Err(invalid(
            "unknown-release",
            "--diff",
            format!("no release `{id}` in {}", store.location()),
            "pass ids that `sparkplane releases JOB` lists",
        ));
    };
    ReleaseRecord::from_json(&stored.record).map_err(|message| {
        invalid("bad-release", "--diff", format!("{id}: {message}"), "check the release with `sparkplane verify`")
    })
}

fn diff_releases(store: &OpenStore, a: &str, b: &str, printer: &Printer) -> CommandResult {
    let (from, to) = (stored_record(store, a)?, stored_record(store, b)?);
    let changes = sparkplane_delivery::release_diff::diff(&from.spec, &to.spec);
    let json: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| {
            use sparkplane_delivery::release_diff::Change;
            match c {
                Change::Added { path, value } => serde_json::json!({"op": "added", "path": path, "to": value}),
                Change::Removed { path, value } => serde_json::json!({"op": "removed", "path": path, "from": value}),
                Change::Changed { path, from, to } => {
                    serde_json::json!({"op": "changed", "path": path, "from": from, "to": to})
                }
            }
        })
        .collect();
    let report = serde_json::json!({"from": a, "to": b, "changes": json});
    printer.result(&report, || {
        if changes.is_empty() {
            return format!("{a} and {b} have the same spec\n");
        }
        changes.iter().map(|c| format!("{c}\n")).collect()
    });
    Ok(())
}

fn list(job: &str, env: Option<&str>, store: &OpenStore, printer: &Printer) -> CommandResult {
    let records = store.store().list(job, env).map_err(|e| store_failure(&e))?;
    let rows: Vec<serde_json::Value> = records.iter().map(history_row).collect();
    printer.result(&rows, || {
        if records.is_empty() {
            return format!("no releases of {job} in {}\n", store.location());
        }
        let mut table = super::Table::new(&["ENVIRONMENT", "RELEASED", "BY", "ID", "COMMIT", "CI"]);
        let mut sorted: Vec<&ReleaseRecord> = records.iter().collect();
        sorted.sort_by(|a, b| (&a.environment, &a.released_at, &a.id).cmp(&(&b.environment, &b.released_at, &b.id)));
        for r in sorted {
            table.row(vec![
                r.environment.clone(),
                r.released_at.clone(),
                r.released_by.clone(),
                r.id.clone(),
                r.source.commit.chars().take(12).collect(),
                r.ci.as_ref().map_or("-".to_owned(), |c| c.outcome.clone()),
            ]);
        }
        table.render()
    });
    Ok(())
}

fn history_row(r: &ReleaseRecord) -> serde_json::Value {
    serde_json::json!({
        "id": r.id, "environment": r.environment, "releasedAt": r.released_at, "releasedBy": r.released_by,
        "commit": r.source.commit, "contentHash": r.content_hash, "ci": r.ci.as_ref().map(|c| &c.outcome),
    })
}
