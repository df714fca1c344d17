#!/usr/bin/env bash
# Builds the sparkplane image (ADR 0047) from the release binary with podman, FROM scratch:
# stages the build context (the binary, the shared libraries it links with their Debian
# packages' copyright files, CA certificates, time-zone data, /etc/passwd for uid 65532),
# builds Containerfile with every timestamp at SOURCE_DATE_EPOCH (default: the commit's time),
# exports the image as an OCI archive and writes image.json (reference, digest, sizes, the
# Debian packages the libraries came from). Same commit and binary: same digest.
#
#   scripts/image.sh [--binary PATH] [--tag REF] [--version V] [--out DIR]
#   scripts/image.sh --context-only DIR    # stage only, then: docker build -f Containerfile DIR
#
# --binary   an already built sparkplane (default: common.sh SHIPPED_BUILD, the release profile without developer features)
# --tag      the image's name (default ghcr.io/sparkplane/sparkplane:VERSION)
# --version  the version label (default: the workspace version in Cargo.toml)
# --out      where image.oci.tar and image.json go (default $CARGO_TARGET_DIR/image)
# Exit codes: 0 built; 2 bad usage; 3 podman/skopeo missing (scripts/common.sh need_containers installs them).
set -euo pipefail

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

binary="" tag="" version="" out="" context_only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --tag) tag="${2:?--tag needs an image reference}"; shift 2 ;;
    --version) version="${2:?--version needs a version}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --context-only) context_only="${2:?--context-only needs a directory}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "image.sh: unknown argument '$1'" >&2; usage ;;
  esac
done

if [ -z "$context_only" ]; then
  for tool in podman skopeo; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "image.sh: $tool is not installed: run 'source scripts/common.sh && need_containers' (Debian: apt-get install podman buildah skopeo umoci runc docker-registry), then run this again." >&2
      exit 3
    fi
  done
fi

# Paths given relative to where the script was run from (common.sh moves to the repository).
abs() { [ -z "$1" ] || realpath -m -- "$1"; }
binary="$(abs "$binary")" out="$(abs "$out")" context_only="$(abs "$context_only")"
source "$(dirname "$0")/common.sh"
# The containers.conf need_containers writes (runc, cgroupfs, ulimits this host allows).
conf="$HOME/.cache/sparkplane/tools/containers/containers.conf"
if [ -z "${CONTAINERS_CONF:-}" ] && [ -f "$conf" ]; then
  export CONTAINERS_CONF="$conf"
fi

version="${version:-$(awk -F'"' '/^\[workspace.package\]/{p=1} p && /^version *=/{print $2; exit}' Cargo.toml)}"
tag="${tag:-ghcr.io/sparkplane/sparkplane:$version}"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
source_url="$(awk -F'"' '/^\[workspace.package\]/{p=1} p && /^repository *=/{print $2; exit}' Cargo.toml)"
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
created="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"

if [ -z "$binary" ]; then
  need_rust
  echo "==> building the release binary (${SHIPPED_BUILD[*]})" >&2
  "${SHIPPED_BUILD[@]}" >&2
  binary="$CARGO_TARGET_DIR/release/sparkplane"
fi
if [ ! -x "$binary" ]; then
  echo "image.sh: --binary $binary is not an executable file: build it first (${SHIPPED_BUILD[*]})" >&2
  exit 2
fi

# ---- stage the build context -------------------------------------------------------------
context="${context_only:-$(mktemp -d "${TMPDIR:-/tmp}/sparkplane-image.XXXXXX")}"
[ -n "$context_only" ] || trap 'rm -rf "$context"' EXIT
rootfs="$context/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/usr/share" "$rootfs/tmp" "$rootfs/home/nonroot"

packages="$context/packages.tsv"
: >"$packages.unsorted"
package_of() {
  local owner
  owner="$(dpkg -S "$1" 2>/dev/null || dpkg -S "$(realpath "$1")" 2>/dev/null || true)"
  owner="${owner%%: *}"
  [ -n "$owner" ] || { echo "image.sh: no Debian package owns $1; the image lists where each file came from" >&2; exit 3; }
  printf '%s\t%s\n' "${owner%%:*}" "$(dpkg-query -W -f='${Version}\t${Architecture}' "$owner")" >>"$packages.unsorted"
}
# An executable into /usr/local/bin, with the shared libraries it links and the dynamic loader
# at the paths the loader looks, each recorded with the Debian package it came from.
install_executable() {
  local source="$1" name="$2"
  if ldd "$source" | grep -q 'not found'; then
    echo "image.sh: $source links libraries this machine lacks:" >&2; ldd "$source" | grep 'not found' >&2; exit 3
  fi
  cp -L "$source" "$rootfs/usr/local/bin/$name"
  ldd "$source" | grep -o '/[^ ]*' | sort -u | while read -r lib; do
    if [ ! -e "$rootfs$lib" ]; then
      mkdir -p "$rootfs$(dirname "$lib")"
      cp -L "$lib" "$rootfs$lib"
    fi
    package_of "$lib"
  done
}
install_executable "$binary" sparkplane
# DWARF only: symbol names stay for backtraces.
strip --strip-debug "$rootfs/usr/local/bin/sparkplane"
# `backup run` dumps the metastore with PostgreSQL's own client tools (found on PATH): the
# newest Debian postgresql-client on the build machine (scripts/common.sh need_postgres).
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/pg_dump" ]; then
  echo "image.sh: PostgreSQL's client tools (pg_dump, pg_restore, psql) are not installed; 'backup run' needs them in the image: run 'source scripts/common.sh && need_postgres' (Debian: apt-get install postgresql-client)" >&2
  exit 3
fi
for tool in pg_dump pg_restore psql; do
  install_executable "$pg_bin/$tool" "$tool"
  package_of "$pg_bin/$tool"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'ca-certificates\t%s\n' "$(dpkg-query -W -f='${Version}\t${Architecture}' ca-certificates)" >>"$packages.unsorted"
cp -a /usr/share/zoneinfo "$rootfs/usr/share/zoneinfo"
printf 'tzdata\t%s\n' "$(dpkg-query -W -f='${Version}\t${Architecture}' tzdata)" >>"$packages.unsorted"
sort -u "$packages.unsorted" >"$packages"
rm "$packages.unsorted"
# Each package's copyright file goes with what was copied from it (glibc is LGPL).
while IFS=$'\t' read -r name _ _; do
  if [ -f "/usr/share/doc/$name/copyright" ]; then
    mkdir -p "$rootfs/usr/share/doc/$name"
    cp "/usr/share/doc/$name/copyright" "$rootfs/usr/share/doc/$name/copyright"
  fi
done <"$packages"

printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

# Deterministic: modes and times do not depend on the umask or when files were copied.
find "$rootfs" -type d -exec chmod 0755 {} +
find "$rootfs" -type f -exec chmod 0644 {} +
chmod 0755 "$rootfs"/usr/local/bin/*
find "$rootfs" -type f -name 'ld-linux*' -exec chmod 0755 {} +
chmod 1777 "$rootfs/tmp"
find "$rootfs" -exec touch -h -d "@$epoch" {} +
cp "$repo_root/Containerfile" "$context/Containerfile"

if [ -n "$context_only" ]; then
  echo "==> staged the build context in $context: docker build -f $context/Containerfile --build-arg VERSION=$version --build-arg REVISION=$revision --build-arg CREATED=$created $context" >&2
  exit 0
fi

# ---- build and export ------------------------------------------------------------------
out="${out:-$CARGO_TARGET_DIR/image}"
mkdir -p "$out"
echo "==> building $tag (podman build, SOURCE_DATE_EPOCH=$epoch)" >&2
podman build --quiet --no-cache --layers=false --identity-label=false --timestamp "$epoch" --format oci \
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "CREATED=$created" \
  --build-arg "SOURCE=$source_url" \
  -f "$context/Containerfile" -t "$tag" "$context" >/dev/null
archive="$out/image.oci.tar"
rm -f "$archive"
podman save --quiet --format oci-archive -o "$archive" "$tag"
digest="$(skopeo inspect --format '{{.Digest}}' "oci-archive:$archive")"
id="$(podman image inspect --format '{{.Id}}' "$tag")"
size="$(podman image inspect --format '{{.Size}}' "$tag")"
binary_sha="$(sha256sum "$rootfs/usr/local/bin/sparkplane" | awk '{print $1}')"
skopeo inspect --raw "oci-archive:$archive" >"$out/manifest.json"

python3 - "$out/image.json" "$tag" "$digest" "$id" "$size" "$archive" "$version" "$revision" "$created" \
  "$binary_sha" "$packages" "$out/manifest.json" <<'PY'
import json, sys
path, tag, digest, image_id, size, archive, version, revision, created, binary_sha, packages, manifest = sys.argv[1:]
repository = tag.rsplit(":", 1)[0] if ":" in tag.rsplit("/", 1)[-1] else tag
layers = json.load(open(manifest))["layers"]
rows = [line.rstrip("\n").split("\t") for line in open(packages) if line.strip()]
doc = {
    "reference": tag,
    "repository": repository,
    "digest": digest,
    "id": "sha256:" + image_id if not image_id.startswith("sha256:") else image_id,
    "archive": archive,
    "version": version,
    "revision": revision,
    "created": created,
    "binarySha256": binary_sha,
    "sizeBytes": {"uncompressed": int(size), "compressedLayers": sum(l["size"] for l in layers)},
    "packages": [{"name": n, "version": v, "arch": a} for n, v, a in rows],
}
with open(path, "w") as f:
    json.dump(doc, f, indent=2, sort_keys=True)
    f.write("\n")
PY
rm -f "$out/manifest.json"
echo "==> $tag@$digest ($(numfmt --to=iec "$size") unpacked) -> $archive, $out/image.json" >&2
repository="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["repository"])' "$out/image.json")"
echo "$repository@$digest"
