"""Checks sparkplane's release files with tools no one here wrote.

  validate-sbom FILE         validate against CycloneDX's official bom-1.6 JSON schema
                             (shipped by PyPI cyclonedx-python-lib, with its spdx and jsf schemas)
  verify PUB.pem FILE SIG    verify a base64 DER ECDSA P-256/SHA-256 signature (PyPI cryptography)
  sign KEY.pem FILE          print such a signature made by cryptography
  keygen DIR                 write key.pem (PKCS#8) and pub.pem (SubjectPublicKeyInfo) made by cryptography

Exit 0 when the check passes, 1 with the reason on stderr otherwise.
"""
import base64
import json
import pathlib
import sys

import cyclonedx.schema
import jsonschema
import referencing
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def validate_sbom(path):
    res = pathlib.Path(cyclonedx.schema.__file__).parent / "_res"
    load = lambda name: json.loads((res / name).read_text())
    bom = load("bom-1.6.SNAPSHOT.schema.json")
    registry = referencing.Registry().with_resources(
        [
            (uri, referencing.Resource.from_contents(load(name)))
            for uri, name in [
                ("http://cyclonedx.org/schema/spdx.schema.json", "spdx.SNAPSHOT.schema.json"),
                ("http://cyclonedx.org/schema/jsf-0.82.schema.json", "jsf-0.82.SNAPSHOT.schema.json"),
                ("http://cyclonedx.org/schema/cryptography-defs.schema.json", "cryptography-defs.SNAPSHOT.schema.json"),
            ]
        ]
    )
    validator = jsonschema.Draft7Validator(bom, registry=registry, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(json.loads(pathlib.Path(path).read_text())), key=lambda e: list(e.path))
    for error in errors:
        print(f"{'/'.join(map(str, error.path))}: {error.message}", file=sys.stderr)
    return 1 if errors else 0


def verify(pub, path, sig):
    key = serialization.load_pem_public_key(pathlib.Path(pub).read_bytes())
    signature = base64.b64decode(pathlib.Path(sig).read_text().strip())
    try:
        key.verify(signature, pathlib.Path(path).read_bytes(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        print("signature does not verify", file=sys.stderr)
        return 1
    return 0


def sign(key_path, path):
    key = serialization.load_pem_private_key(pathlib.Path(key_path).read_bytes(), password=None)
    print(base64.b64encode(key.sign(pathlib.Path(path).read_bytes(), ec.ECDSA(hashes.SHA256()))).decode())
    return 0


def keygen(out):
    key = ec.generate_private_key(ec.SECP256R1())
    out = pathlib.Path(out)
    out.joinpath("key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    out.joinpath("pub.pem").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return 0


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    sys.exit({"validate-sbom": validate_sbom, "verify": verify, "sign": sign, "keygen": keygen}[command](*args))
