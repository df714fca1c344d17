//! The SBOMs sparkplane writes, CycloneDX 1.6 JSON: a job release's — what
//! the job ships: Spark and Scala, the image (by digest when pinned), the
//! main application file, jars, Python files, files and archives, the
//! `spark.jars.packages` coordinates (`pkg:maven/…`) and, when the job lists
//! them, its Python requirements (`pkg:pypi/…`) — and sparkplane's own
//! release's (ADR 0048): every crate of its Cargo.lock with its version
//! ([`crates_sbom`]), and the image's Debian packages, binary and digest
//! ([`image_sbom`]).
//!
//! Owns: the SBOMs' content and layout, the reading of a requirements file
//! and of a Cargo.lock, and the deterministic serial numbers (derived from
//! content hashes, never random). Must not read files, look at the clock or
//! sign: times and file texts are inputs.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sparkplane_api::SparkJob;
use sparkplane_core::image::ImageRef;

/// The CycloneDX spec version written.
pub const SPEC_VERSION: &str = "1.6";

/// One Python requirement from a requirements file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    /// The project name, normalised as PyPI does (lower case, runs of `-_.` as `-`).
    pub name: String,
    /// The version when pinned with `==`; none for a range or a bare name.
    pub version: Option<String>,
    /// The specifier as written (`>=1.2,<2`), when not a pin.
    pub specifier: Option<String>,
}

/// A line of a requirements file that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RequirementError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Normalises a Python project name (PEP 503).
fn normalise(name: &str) -> String {
    let mut out = String::new();
    let mut separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
        } else {
            if separator && !out.is_empty() {
                out.push('-');
            }
            separator = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Reads a pip requirements file: one requirement a line, `#` comments,
/// environment markers after `;` and extras in `[…]` dropped; option lines
/// (`-r`, `--index-url`, …) and URLs are skipped, as they name no project
/// version. Errors name the line.
pub fn parse_requirements(text: &str) -> Result<Vec<Requirement>, RequirementError> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or_default();
        let line = line.split(';').next().unwrap_or_default().trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('-') || line.contains("://") {
            continue;
        }
        let end =
            line.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(line.len());
        let (name, mut rest) = line.split_at(end);
        if name.is_empty() {
            return Err(RequirementError {
                line: index + 1,
                message: format!("`{line}` does not start with a project name"),
            });
        }
        if let Some(after) = rest.strip_prefix('[') {
            rest = after.split_once(']').map_or("", |(_, r)| r);
        }
        let rest = rest.trim();
        let (version, specifier) = match rest.strip_prefix("==") {
            Some(pin) if !pin.contains([',', '*']) && !pin.trim().is_empty() => (Some(pin.trim().to_owned()), None),
            _ if rest.is_empty() => (None, None),
            _ => (None, Some(rest.replace(' ', ""))),
        };
        out.push(Requirement { name: normalise(name), version, specifier });
    }
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    out.dedup();
    Ok(out)
}

/// What the SBOM describes.
#[derive(Clone, Copy, Debug)]
pub struct SbomInput<'a> {
    /// The resolved job.
    pub job: &'a SparkJob,
    /// The environment it was resolved for.
    pub environment: &'a str,
    /// The release id.
    pub release_id: &'a str,
    /// The release's content hash (`sha256:…`): the serial number derives from it.
    pub content_hash: &'a str,
    /// The release time, RFC 3339 UTC.
    pub released_at: &'a str,
    /// The job's Python requirements, when it lists them.
    pub requirements: &'a [Requirement],
    /// sparkplane's version.
    pub tool_version: &'a str,
}

/// The Scala binary version of a Spark release's default build: 2.13 from
/// Spark 4 on, 2.12 before (Spark 3's default distribution).
pub fn scala_version(spark_version: &str) -> &'static str {
    match spark_version.split('.').next().and_then(|m| m.parse::<u32>().ok()) {
        Some(major) if major >= 4 => "2.13",
        _ => "2.12",
    }
}

/// A name-based UUID for the SBOM's `serialNumber`: the first 16 bytes of
/// SHA-256 over `sparkplane-sbom:` and the content hash, with the version (8)
/// and variant bits of RFC 9562 (whose appendix B.2 shows this SHA-256
/// name-based use of version 8), so one release has one serial number.
pub fn serial_number(content_hash: &str) -> String {
    let digest = Sha256::digest(format!("sparkplane-sbom:{content_hash}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::sign::hex(&b);
    format!("urn:uuid:{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Components in the order added, each bom-ref once.
#[derive(Default)]
struct Components {
    refs: BTreeSet<String>,
    list: Vec<Value>,
}

impl Components {
    fn add(&mut self, component: Value) {
        let bom_ref = component["bom-ref"].as_str().unwrap_or_default().to_owned();
        if self.refs.insert(bom_ref) {
            self.list.push(component);
        }
    }
}

fn file_name(uri: &str) -> &str {
    uri.trim_end_matches('/').rsplit('/').next().unwrap_or(uri)
}

fn file_component(kind: &str, role: &str, uri: &str) -> Value {
    json!({
        "type": kind,
        "bom-ref": format!("{role}:{uri}"),
        "name": file_name(uri),
        "externalReferences": [{"type": "distribution", "url": uri}],
        "properties": [{"name": "sparkplane:role", "value": role}],
    })
}

fn image_component(image: &ImageRef) -> Value {
    let name = file_name(&image.repository);
    let mut qualifiers = vec![format!("repository_url={}", image.repository)];
    if let Some(tag) = &image.tag {
        qualifiers.push(format!("tag={tag}"));
    }
    let version = image.digest.clone().or_else(|| image.tag.clone());
    let at = image.digest.as_deref().map(|d| format!("@{}", d.replace(':', "%3A"))).unwrap_or_default();
    let mut component = json!({
        "type": "container",
        "bom-ref": "image",
        "name": name,
        "purl": format!("pkg:oci/{name}{at}?{}", qualifiers.join("&")),
        "properties": [{"name": "sparkplane:image", "value": reference(image)}],
    });
    if let Some(version) = version {
        component["version"] = json!(version);
    }
    if let Some(hex) = image.digest.as_deref().and_then(|d| d.strip_prefix("sha256:")) {
        component["hashes"] = json!([{"alg": "SHA-256", "content": hex}]);
    }
    component
}

/// `repository@digest` when pinned, else `repository:tag` (or the bare repository).
pub fn reference(image: &ImageRef) -> String {
    match (&image.digest, &image.tag) {
        (Some(digest), _) => format!("{}@{digest}", image.repository),
        (None, Some(tag)) => format!("{}:{tag}", image.repository),
        (None, None) => image.repository.clone(),
    }
}

fn maven_component(coordinate: &str) -> Value {
    let parts: Vec<&str> = coordinate.split(':').collect();
    match parts.as_slice() {
        [group, artifact, version] => {
            let purl = format!("pkg:maven/{group}/{artifact}@{version}");
            json!({"type": "library", "bom-ref": purl, "group": group, "name": artifact, "version": version, "purl": purl})
        }
        _ => json!({
            "type": "library", "bom-ref": format!("maven:{coordinate}"), "name": coordinate,
            "properties": [{"name": "sparkplane:role", "value": "spark.jars.packages"}],
        }),
    }
}

fn pypi_component(requirement: &Requirement) -> Value {
    let purl = match &requirement.version {
        Some(version) => format!("pkg:pypi/{}@{version}", requirement.name),
        None => format!("pkg:pypi/{}", requirement.name),
    };
    let mut component = json!({"type": "library", "bom-ref": purl, "name": requirement.name, "purl": purl});
    if let Some(version) = &requirement.version {
        component["version"] = json!(version);
    }
    if let Some(specifier) = &requirement.specifier {
        component["properties"] = json!([{"name": "sparkplane:requirement", "value": specifier}]);
    }
    component
}

/// The SBOM as a JSON value (CycloneDX 1.6).
pub fn build(input: &SbomInput<'_>) -> Value {
    let spec = &input.job.spec;
    let mut components = Components::default();
    if let Some(spark) = &spec.spark_version {
        let scala = scala_version(spark);
        let purl = format!("pkg:maven/org.apache.spark/spark-core_{scala}@{spark}");
        components.add(json!({
            "type": "framework", "bom-ref": purl, "group": "org.apache.spark",
            "name": format!("spark-core_{scala}"), "version": spark, "purl": purl,
            "description": "Apache Spark",
        }));
        components.add(json!({
            "type": "platform", "bom-ref": "scala", "name": "scala", "version": scala,
            "description": "Scala binary version of Spark's default build",
        }));
    }
    if let Some(image) = spec.image.as_ref().and_then(ImageRef::of) {
        components.add(image_component(&image));
    }
    if let Some(main) = &spec.main_application_file {
        let kind = if main.ends_with(".jar") { "application" } else { "file" };
        components.add(file_component(kind, "main", main));
    }
    if let Some(deps) = &spec.deps {
        for jar in &deps.jars {
            components.add(file_component("library", "jar", jar));
        }
        for py in &deps.py_files {
            let kind = if py.ends_with(".py") { "file" } else { "library" };
            components.add(file_component(kind, "py-file", py));
        }
        for file in &deps.files {
            components.add(file_component("file", "file", file));
        }
        for archive in &deps.archives {
            components.add(file_component("file", "archive", archive));
        }
        for coordinate in &deps.packages {
            components.add(maven_component(coordinate));
        }
    }
    for requirement in input.requirements {
        components.add(pypi_component(requirement));
    }
    let job = input.job.metadata.name.as_deref().unwrap_or_default();
    let job_ref = format!("job:{job}");
    let depends_on: Vec<&str> = components.list.iter().filter_map(|c| c["bom-ref"].as_str()).collect();
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial_number(input.content_hash),
        "version": 1,
        "metadata": {
            "timestamp": input.released_at,
            "tools": {"components": [{"type": "application", "name": "sparkplane", "version": input.tool_version}]},
            "component": {
                "type": "application",
                "bom-ref": job_ref,
                "name": job,
                "version": input.release_id,
                "properties": [
                    {"name": "sparkplane:environment", "value": input.environment},
                    {"name": "sparkplane:contentHash", "value": input.content_hash},
                ],
            },
        },
        "components": components.list,
        "dependencies": [{"ref": job_ref, "dependsOn": depends_on}],
    })
}

/// One package of a Cargo.lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedCrate {
    /// The crate's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Where it comes from (`registry+https://…`, `git+https://…`); none for a workspace member.
    pub source: Option<String>,
    /// The registry's SHA-256 of its archive, when the lock records one.
    pub checksum: Option<String>,
    /// Its dependencies as the lock names them (`name`, `name version` or `name version (source)`).
    pub dependencies: Vec<String>,
}

/// A Cargo.lock that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Cargo.lock: {0}")]
pub struct LockError(pub String);

/// The packages of a Cargo.lock (version 3 or 4), in its order.
pub fn parse_cargo_lock(text: &str) -> Result<Vec<LockedCrate>, LockError> {
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| LockError(e.to_string()))?;
    let packages = doc
        .get("package")
        .and_then(toml_edit::Item::as_array_of_tables)
        .ok_or_else(|| LockError("no [[package]] entries".into()))?;
    let mut out = Vec::new();
    for (index, package) in packages.iter().enumerate() {
        let field = |key: &str| package.get(key).and_then(toml_edit::Item::as_str).map(str::to_owned);
        let (Some(name), Some(version)) = (field("name"), field("version")) else {
            return Err(LockError(format!("package {} has no name or version", index + 1)));
        };
        let dependencies = package
            .get("dependencies")
            .and_then(toml_edit::Item::as_array)
            .map(|list| list.iter().filter_map(|d| d.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        out.push(LockedCrate { name, version, source: field("source"), checksum: field("checksum"), dependencies });
    }
    Ok(out)
}

/// A locked crate's bom-ref: its purl when it comes from crates.io.
fn crate_ref(krate: &LockedCrate) -> String {
    match &krate.source {
        Some(source) if source.starts_with("registry+") => format!("pkg:cargo/{}@{}", krate.name, krate.version),
        _ => format!("crate:{}@{}", krate.name, krate.version),
    }
}

fn crate_component(krate: &LockedCrate) -> Value {
    let bom_ref = crate_ref(krate);
    let mut component = json!({"type": "library", "bom-ref": bom_ref, "name": krate.name, "version": krate.version});
    match &krate.source {
        Some(source) if source.starts_with("registry+") => {
            component["purl"] = json!(bom_ref);
            if let Some(checksum) = &krate.checksum {
                component["hashes"] = json!([{"alg": "SHA-256", "content": checksum}]);
            }
        }
        Some(source) => {
            let url = source.split_once('+').map_or(source.as_str(), |(_, url)| url);
            component["externalReferences"] = json!([{"type": "vcs", "url": url}]);
        }
        None => component["properties"] = json!([{"name": "sparkplane:source", "value": "workspace"}]),
    }
    component
}

/// What the crate SBOM of a sparkplane release describes.
#[derive(Clone, Copy, Debug)]
pub struct CratesSbomInput<'a> {
    /// The released program (`sparkplane`).
    pub name: &'a str,
    /// Its version.
    pub version: &'a str,
    /// The Cargo.lock it was built from.
    pub lock: &'a [LockedCrate],
    /// The Cargo.lock's SHA-256 (`sha256:…`): the serial number derives from it and the version.
    pub lock_hash: &'a str,
    /// The release time, RFC 3339 UTC.
    pub timestamp: &'a str,
}

/// The SBOM of the crates a release's binary is built from: every package
/// of the Cargo.lock with its version (purl and registry checksum for
/// crates.io ones), and who depends on whom as the lock records it.
pub fn crates_sbom(input: &CratesSbomInput<'_>) -> Value {
    let refs: Vec<String> = input.lock.iter().map(crate_ref).collect();
    // A lock names a dependency by name alone when one version is locked, else with its version.
    let resolve = |name: &str| -> Option<&str> {
        let mut words = name.split_whitespace();
        let (dep, version) = (words.next()?, words.next());
        let found =
            input.lock.iter().zip(&refs).filter(|(c, _)| c.name == dep && version.is_none_or(|v| c.version == v));
        found.map(|(_, r)| r.as_str()).next()
    };
    let dependencies: Vec<Value> = input
        .lock
        .iter()
        .zip(&refs)
        .map(|(krate, bom_ref)| {
            let depends_on: Vec<&str> = krate.dependencies.iter().filter_map(|d| resolve(d)).collect();
            json!({"ref": bom_ref, "dependsOn": depends_on})
        })
        .collect();
    let root = format!("application:{}@{}", input.name, input.version);
    let mut all = vec![json!({"ref": root, "dependsOn": resolve(input.name).into_iter().collect::<Vec<_>>()})];
    all.extend(dependencies);
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial_number(&format!("crates:{}:{}", input.version, input.lock_hash)),
        "version": 1,
        "metadata": {
            "timestamp": input.timestamp,
            "tools": {"components": [{"type": "application", "name": "sparkplane-xtask", "version": input.version}]},
            "component": {
                "type": "application", "bom-ref": root, "name": input.name, "version": input.version,
                "properties": [{"name": "sparkplane:cargoLock", "value": input.lock_hash}],
            },
        },
        "components": input.lock.iter().map(crate_component).collect::<Vec<_>>(),
        "dependencies": all,
    })
}

/// A Debian package the image's files were copied from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebianPackage {
    /// Package name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its architecture (`amd64`, `all`).
    pub arch: String,
}

/// What the image SBOM of a sparkplane release describes.
#[derive(Clone, Copy, Debug)]
pub struct ImageSbomInput<'a> {
    /// The image's repository.
    pub repository: &'a str,
    /// Its manifest digest (`sha256:…`).
    pub digest: &'a str,
    /// sparkplane's version.
    pub version: &'a str,
    /// The SHA-256 of the binary in the image (hex).
    pub binary_sha256: &'a str,
    /// The Debian packages its libraries, certificates and time zones came from.
    pub packages: &'a [DebianPackage],
    /// The Debian release they are from (`debian-12`).
    pub distro: &'a str,
    /// The release time, RFC 3339 UTC.
    pub timestamp: &'a str,
}

/// The SBOM of the image: the sparkplane binary and each Debian package
/// (`pkg:deb/debian/…`) it carries files of, under the image by digest.
pub fn image_sbom(input: &ImageSbomInput<'_>) -> Value {
    let image = ImageRef {
        repository: input.repository.to_owned(),
        tag: Some(input.version.to_owned()),
        digest: Some(input.digest.to_owned()),
    };
    let mut root = image_component(&image);
    root["bom-ref"] = json!("image");
    let binary_ref = format!("application:sparkplane@{}", input.version);
    let mut components = vec![json!({
        "type": "application", "bom-ref": binary_ref, "name": "sparkplane", "version": input.version,
        "hashes": [{"alg": "SHA-256", "content": input.binary_sha256}],
        "properties": [{"name": "sparkplane:path", "value": "/usr/local/bin/sparkplane"}],
    })];
    for package in input.packages {
        let purl = format!(
            "pkg:deb/debian/{}@{}?arch={}&distro={}",
            package.name,
            package.version.replace(':', "%3A").replace('+', "%2B"),
            package.arch,
            input.distro
        );
        components.push(json!({
            "type": "library", "bom-ref": purl, "name": package.name, "version": package.version, "purl": purl,
        }));
    }
    let depends_on: Vec<&str> = components.iter().filter_map(|c| c["bom-ref"].as_str()).collect();
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial_number(&format!("image:{}", input.digest)),
        "version": 1,
        "metadata": {
            "timestamp": input.timestamp,
            "tools": {"components": [{"type": "application", "name": "sparkplane-xtask", "version": input.version}]},
            "component": root,
        },
        "dependencies": [{"ref": "image", "dependsOn": depends_on}],
        "components": components,
    })
}

/// The SBOM as written to `sbom.cdx.json`: pretty JSON, one final newline.
pub fn to_json(sbom: &Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(sbom).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_keep_pins_and_ranges_and_skip_options() {
        let text = "# deps\n--index-url https://example.invalid/simple\n-r base.txt\nPandas==2.2.3  # data\n\
                    pyarrow>=15,<17\nrequests[socks]==2.32.3 ; python_version >= \"3.9\"\nzope.interface\n\
                    https://example.invalid/x.whl\n\nPandas==2.2.3\n";
        let got = parse_requirements(text).expect("parses");
        assert_eq!(
            got,
            vec![
                Requirement { name: "pandas".into(), version: Some("2.2.3".into()), specifier: None },
                Requirement { name: "pyarrow".into(), version: None, specifier: Some(">=15,<17".into()) },
                Requirement { name: "requests".into(), version: Some("2.32.3".into()), specifier: None },
                Requirement { name: "zope-interface".into(), version: None, specifier: None },
            ]
        );
        assert_eq!(
            parse_requirements("ok==1\n==2\n").map_err(|e| e.to_string()),
            Err("line 2: `==2` does not start with a project name".into())
        );
    }

    #[test]
    fn the_serial_number_is_a_version_8_uuid_fixed_by_the_content_hash() {
        let a = serial_number("sha256:aa");
        assert_eq!(a, serial_number("sha256:aa"));
        assert_ne!(a, serial_number("sha256:ab"));
        let uuid = a.strip_prefix("urn:uuid:").expect("urn");
        let groups: Vec<&str> = uuid.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12]);
        assert!(groups[2].starts_with('8'));
        assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn scala_follows_the_spark_major_version() {
        assert_eq!(scala_version("3.5.7"), "2.12");
        assert_eq!(scala_version("4.0.1"), "2.13");
        assert_eq!(scala_version("x"), "2.12");
    }

    #[test]
    fn an_sbom_lists_what_the_job_ships_once_each() {
        let job: SparkJob = serde_json::from_value(json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
            "metadata": {"name": "etl", "namespace": "data"},
            "spec": {
                "type": "Python", "sparkVersion": "4.0.1", "mainApplicationFile": "local:///opt/app/main.py",
                "image": {"repository": "registry.example.com/team/etl", "tag": "1.2",
                          "digest": format!("sha256:{}", "a".repeat(64))},
                "deps": {"jars": ["s3a://lake/jars/udf.jar", "s3a://lake/jars/udf.jar"], "pyFiles": ["local:///opt/app/lib.zip"],
                         "packages": ["org.apache.hadoop:hadoop-aws:3.4.1"]},
            },
        }))
        .expect("job");
        let requirements = parse_requirements("pandas==2.2.3\n").expect("reqs");
        let input = SbomInput {
            job: &job,
            environment: "prod",
            release_id: "etl-prod-0123456789ab",
            content_hash: "sha256:00",
            released_at: "2026-11-23T15:00:00Z",
            requirements: &requirements,
            tool_version: "0.1.0",
        };
        let sbom = build(&input);
        assert_eq!(sbom, build(&input), "deterministic");
        let refs: Vec<&str> =
            sbom["components"].as_array().expect("list").iter().filter_map(|c| c["bom-ref"].as_str()).collect();
        assert_eq!(
            refs,
            vec![
                "pkg:maven/org.apache.spark/spark-core_2.13@4.0.1",
                "scala",
                "image",
                "main:local:///opt/app/main.py",
                "jar:s3a://lake/jars/udf.jar",
                "py-file:local:///opt/app/lib.zip",
                "pkg:maven/org.apache.hadoop/hadoop-aws@3.4.1",
                "pkg:pypi/pandas@2.2.3",
            ]
        );
        let image = &sbom["components"][2];
        assert_eq!(
            image["purl"],
            format!("pkg:oci/etl@sha256%3A{}?repository_url=registry.example.com/team/etl&tag=1.2", "a".repeat(64))
        );
        assert_eq!(image["hashes"][0]["content"], "a".repeat(64));
        assert_eq!(sbom["metadata"]["timestamp"], "2026-11-23T15:00:00Z");
        assert_eq!(sbom["dependencies"][0]["dependsOn"].as_array().map(Vec::len), Some(8));
    }

    #[test]
    fn the_crate_sbom_lists_every_locked_crate_with_its_version_and_dependencies() {
        let lock = "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"serde\",\n \"syn 2.0.1\",\n]\n\n\
                    [[package]]\nname = \"serde\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
                    checksum = \"abcd\"\n\n[[package]]\nname = \"syn\"\nversion = \"1.0.9\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
                    [[package]]\nname = \"syn\"\nversion = \"2.0.1\"\nsource = \"git+https://example.invalid/syn?rev=1#1\"\n";
        let crates = parse_cargo_lock(lock).expect("parses");
        assert_eq!(crates.len(), 4);
        let sbom = crates_sbom(&CratesSbomInput {
            name: "app",
            version: "0.1.0",
            lock: &crates,
            lock_hash: "sha256:00",
            timestamp: "2026-11-25T00:00:00Z",
        });
        let names: Vec<(String, String)> = sbom["components"]
            .as_array()
            .expect("components")
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_owned(),
                    c["version"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [("app", "0.1.0"), ("serde", "1.0.0"), ("syn", "1.0.9"), ("syn", "2.0.1")]
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        assert_eq!(sbom["components"][1]["purl"], "pkg:cargo/serde@1.0.0");
        assert_eq!(sbom["components"][1]["hashes"][0]["content"], "abcd");
        assert_eq!(sbom["components"][3]["externalReferences"][0]["url"], "https://example.invalid/syn?rev=1#1");
        assert_eq!(sbom["dependencies"][1]["dependsOn"], json!(["pkg:cargo/serde@1.0.0", "crate:syn@2.0.1"]));
        assert_eq!(sbom["dependencies"][0]["dependsOn"], json!(["crate:app@0.1.0"]));
        assert_eq!(
            parse_cargo_lock("[[package]]\nversion = \"1\"\n"),
            Err(LockError("package 1 has no name or version".into()))
        );
    }
}
