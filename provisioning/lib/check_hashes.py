"""SHA-256 lists of model folders, for the provisioning scripts (standard library only: it
runs with the system's python3 before the box's environment exists).

    check_hashes.py write DIR FILE...   write DIR/SHA256SUMS for FILE... (paths inside DIR)
    check_hashes.py verify DIR          check DIR against DIR/SHA256SUMS, or, without one,
                                        against the "sha256" entries of DIR's JSON files
    check_hashes.py card-files DIR      the files DIR/model_card.json names, one a line
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

SUMS = "SHA256SUMS"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write(folder: Path, names: list[str]) -> None:
    lines = [f"{sha256(folder / name)}  {name}\n" for name in sorted(names)]
    (folder / SUMS).write_text("".join(lines), encoding="utf-8")


def _json_entries(value: object) -> Iterator[tuple[str, str]]:
    """(file, sha256) pairs anywhere in a JSON document."""
    if isinstance(value, dict):
        name = value.get("file") or value.get("path") or value.get("name")
        if isinstance(value.get("sha256"), str) and isinstance(name, str):
            yield name, value["sha256"]
        for child in value.values():
            yield from _json_entries(child)
    elif isinstance(value, list):
        for child in value:
            yield from _json_entries(child)


def expected_hashes(folder: Path) -> dict[str, str]:
    sums = folder / SUMS
    if sums.exists():
        out = {}
        for number, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), 1):
            digest, sep, name = line.partition("  ")
            if not sep or len(digest) != 64:
                raise ValueError(f"{sums}: line {number} is not '<sha256>  <file>'")
            out[name.lstrip("*")] = digest.lower()
        return out
    out = {}
    for document in sorted(folder.glob("*.json")):
        try:
            out.update(_json_entries(json.loads(document.read_text(encoding="utf-8"))))
        except ValueError as exc:
            raise ValueError(f"{document}: not valid JSON ({exc})") from None
    return out


def verify(folder: Path) -> list[str]:
    """Problems found, one line each; empty when every listed file matches."""
    if not folder.is_dir():
        return [f"{folder}: no such folder"]
    try:
        expected = expected_hashes(folder)
    except ValueError as exc:
        return [str(exc)]
    if not expected:
        return [f"{folder}: no SHA-256 list ({SUMS}, or sha256 entries in a JSON file)"]
    problems = []
    for name, digest in sorted(expected.items()):
        path = folder / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            problems.append(f"{folder}: unsafe file name {name!r} in the SHA-256 list")
        elif not path.is_file():
            problems.append(f"{path}: missing")
        elif sha256(path) != digest:
            problems.append(f"{path}: SHA-256 differs from the list (damaged or replaced)")
    return problems


def card_files(folder: Path) -> list[str]:
    card = json.loads((folder / "model_card.json").read_text(encoding="utf-8"))
    return sorted({task["file"] for task in card["tasks"].values()})


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("write", "verify", "card-files"):
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[1])
    if argv[0] == "write":
        write(folder, argv[2:])
        return 0
    if argv[0] == "card-files":
        try:
            names = card_files(folder)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"{folder}/model_card.json: cannot read the model files it names ({exc})",
                  file=sys.stderr)
            return 1
        print("\n".join(names))
        return 0
    problems = verify(folder)
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
