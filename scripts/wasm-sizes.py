#!/usr/bin/env python3
"""Release WASM sizes after cargo-leptos --split: the main module every visit loads, and what
each group of lazy pages adds (its split plus the shared chunks it needs, from the split
manifest), gzip at level 6 like `gzip -c`. Usage: scripts/wasm-sizes.py [target/site/pkg]"""
import gzip
import json
import sys
from pathlib import Path

pkg = Path(sys.argv[1] if len(sys.argv) > 1 else "target/site/pkg")


def sizes(names):
    raw = [(pkg / f"{name}.wasm").read_bytes() for name in names]
    return sum(map(len, raw)), sum(len(gzip.compress(b, 6)) for b in raw)


main_raw, main_gz = sizes(["deploytrack"])
print(f"Release WASM: main module {main_raw:,} bytes raw, {main_gz:,} bytes gzip (every page loads it)")
manifest = pkg / "__wasm_split_manifest.json"
if manifest.exists():
    for split, files in sorted(json.loads(manifest.read_text()).items()):
        group = split.split("_")[1]  # load_<group>_<hash>
        raw, gz = sizes(files)
        print(f"  + pages of group '{group}': {raw:,} bytes raw, {gz:,} gzip in {len(files)} files;"
              f" with the main module {main_gz + gz:,} bytes gzip")
