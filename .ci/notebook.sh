#!/usr/bin/env bash
# Executes notebooks/tour.ipynb in the evcxr Jupyter kernel and checks that the executed
# notebook holds Treescope HTML output (the viewer displayed inline by `NotebookDisplay`).
# Run by .ci/run; also by hand: `bash .ci/notebook.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
export PATH="$HOME/.cargo/bin:$PATH"

# The kernel: evcxr_jupyter, built once into ~/.cargo/bin.
if ! command -v evcxr_jupyter >/dev/null 2>&1; then
  cargo install --locked evcxr_jupyter
fi
evcxr_jupyter --install >/dev/null   # the "rust" kernelspec, in ~/.local/share/jupyter

# Jupyter's notebook runner, in a virtualenv under target/ (never committed).
venv="${PENZAI_NOTEBOOK_VENV:-$PWD/target/notebook-venv}"
if [ ! -x "$venv/bin/jupyter-nbconvert" ]; then
  if ! python3 -m venv "$venv"; then
    # Debian and Ubuntu ship venv's pip bootstrap separately.
    SUDO=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q nbconvert nbclient ipykernel jupyter_client
fi

out="$PWD/target/notebook"
mkdir -p "$out"
"$venv/bin/jupyter" nbconvert --to notebook --execute notebooks/tour.ipynb \
  --ExecutePreprocessor.kernel_name=rust --ExecutePreprocessor.timeout=1800 \
  --output-dir "$out" --output tour.executed.ipynb

# Every cell ran without error, and the trees came back as the Treescope viewer.
"$venv/bin/python" - "$out/tour.executed.ipynb" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
viewers, errors = 0, []
for i, cell in enumerate(nb["cells"]):
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            errors.append(f"cell {i}: {output.get('ename')}: {output.get('evalue')}")
        html = output.get("data", {}).get("text/html", "")
        html = "".join(html) if isinstance(html, list) else html
        if 'class="pz-fragment"' in html and 'class="pzt-data"' in html:
            viewers += 1
if errors:
    sys.exit("notebook errors:\n" + "\n".join(errors))
# The model, the selection and the captured activations each display as a viewer.
if viewers < 3:
    sys.exit(f"expected 3 Treescope outputs, found {viewers}")
print(f"notebook ok: {viewers} Treescope outputs")
PY
echo "notebook step: $(( $(date +%s) - start )) s"
