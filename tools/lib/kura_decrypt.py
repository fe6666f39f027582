"""An independent reader of an encrypted Kura repository, written from docs/FORMAT.md alone (not
from Kura's code): Python's hashlib (scrypt, SHA-256), hmac and the `cryptography` package
(AES-256-GCM, HKDF), the zstd command for compressed chunks. It proves that the document is
enough to get the data back without Kura.

    python3 tools/lib/kura_decrypt.py REPO --password-file FILE

prints one line per file of every snapshot: `<sha256 of the content>  <snapshot id>  <path>`,
after checking every name, tag, digest and chunk id on the way. Exits 1 at the first mismatch."""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import zlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def fail(message):
    sys.exit(f"kura_decrypt: {message}")


def read_named(path):
    """A file whose name is the SHA-256 hex of its bytes."""
    data = open(path, "rb").read()
    if hashlib.sha256(data).hexdigest() != os.path.basename(path):
        fail(f"{path} does not match its name")
    return data


def open_sealed(key, blob, aad=None):
    """nonce (12) ‖ ciphertext ‖ tag (16), AES-256-GCM."""
    return AESGCM(key).decrypt(blob[:12], blob[12:], aad)


def master_key(repo, config, password):
    for name in sorted(os.listdir(os.path.join(repo, "keys"))):
        key_file = json.loads(read_named(os.path.join(repo, "keys", name)))
        kdf = key_file["kdf"]
        wrapping = hashlib.scrypt(password, salt=base64.b64decode(kdf["salt"]), n=1 << kdf["log_n"], r=kdf["r"], p=kdf["p"],
                                  maxmem=(1 << 31) - 1, dklen=32)
        wrapped = base64.b64decode(key_file["key"])
        try:
            master = open_sealed(wrapping, wrapped, b"kura key v1 " + config["id"].encode())
        except Exception:
            continue
        check = hmac.new(master, b"kura master key check " + config["id"].encode(), hashlib.sha256).digest()[:16].hex()
        if check == config["key_check"]:
            return master
    fail("wrong password or no key matches")


def index_entries(plain):
    """pack id → [(chunk id, offset, stored, plain, codec)] from a version-1 index file."""
    if plain[:8] != b"KURAIDX\0" or struct.unpack_from("<I", plain, 8)[0] != 1:
        fail("not an index file")
    superseded = struct.unpack_from("<I", plain, 12)[0]
    position = 16 + 32 * superseded
    packs = {}
    (count,) = struct.unpack_from("<I", plain, position)
    position += 4
    for _ in range(count):
        pack = plain[position:position + 32].hex()
        (entries,) = struct.unpack_from("<I", plain, position + 32)
        position += 36
        packs[pack] = [struct.unpack_from("<32sQIIB", plain, position + 49 * i) for i in range(entries)]
        position += 49 * entries
    return packs


def pack_trailer(data_key, pack, name):
    """The entries of an encrypted pack: the 16-byte footer, then the sealed trailer; the pack's
    name is checked: SHA-256 of the header, each blob's tag in blob order, the sealed trailer and
    the footer."""
    if pack[:8] != b"KURAPACK" or pack[8] != 2 or pack[-8:] != b"KPACKENC":
        fail("not an encrypted pack")
    (length,) = struct.unpack_from("<I", pack, len(pack) - 16)
    trailer_start = len(pack) - 16 - length
    plain = open_sealed(data_key, pack[trailer_start:len(pack) - 16])
    entries, footer = plain[:-48], plain[-48:]
    if hashlib.sha256(entries).digest() != footer[:32] or footer[-8:] != b"KPACKEND":
        fail("trailer digest mismatch")
    (count,) = struct.unpack_from("<I", footer, 32)
    parsed = [struct.unpack_from("<32sQIIB", entries, 49 * i) for i in range(count)]
    digest = hashlib.sha256(pack[:16])
    for _, offset, stored, _, _ in sorted(parsed, key=lambda entry: entry[1]):
        digest.update(pack[offset + stored - 16:offset + stored])
    digest.update(pack[trailer_start:])
    if digest.hexdigest() != name:
        fail(f"pack {name[:8]} does not match its name")
    return parsed


def decode(data_key, blob, codec):
    stored = open_sealed(data_key, blob)
    if codec == 0:
        return stored
    if codec == 1:
        return subprocess.run(["zstd", "-d", "-q", "-c"], input=stored, capture_output=True, check=True).stdout
    if codec == 2:
        return zlib.decompress(stored)
    fail(f"unknown codec {codec}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("repo")
    parser.add_argument("--password-file", required=True)
    args = parser.parse_args()
    repo = args.repo
    config = json.load(open(os.path.join(repo, "config")))
    if config["version"] != 2 or config["encryption"] != "aes-256-gcm":
        fail("not an encrypted repository")
    password = open(args.password_file, "rb").read().split(b"\n")[0].rstrip(b"\r")
    master = master_key(repo, config, password)
    data_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kura repository data key v1").derive(master)

    chunks = {}  # chunk id → plain bytes, every one checked against its id
    for name in sorted(os.listdir(os.path.join(repo, "index"))):
        for pack, entries in index_entries(open_sealed(data_key, read_named(os.path.join(repo, "index", name)))).items():
            data = open(os.path.join(repo, "data", pack[:2], pack), "rb").read()
            if sorted(pack_trailer(data_key, data, pack)) != sorted(entries):
                fail(f"pack {pack[:8]}: index and trailer differ")
            for chunk, offset, stored, plain_length, codec in entries:
                content = decode(data_key, data[offset:offset + stored], codec)
                if len(content) != plain_length or hashlib.sha256(content).digest() != chunk:
                    fail(f"chunk {chunk.hex()[:8]} does not match its id")
                chunks[chunk] = content

    for name in sorted(os.listdir(os.path.join(repo, "snapshots"))):
        record = json.loads(open_sealed(data_key, read_named(os.path.join(repo, "snapshots", name))))
        tree = b"".join(chunks[bytes.fromhex(chunk)] for chunk in record["tree"]["chunks"])
        with tempfile.NamedTemporaryFile(suffix=".sqlite") as database:
            database.write(tree)
            database.flush()
            rows = sqlite3.connect(database.name).execute("SELECT path, size, chunks FROM entries WHERE type = 'file' ORDER BY path")
            for path, size, ids in rows:
                content = b"".join(chunks[ids[i:i + 32]] for i in range(0, len(ids), 32))
                if len(content) != size:
                    fail(f"{path}: {len(content)} bytes, the snapshot says {size}")
                print(f"{hashlib.sha256(content).hexdigest()}  {name[:8]}  {path}")


if __name__ == "__main__":
    main()
