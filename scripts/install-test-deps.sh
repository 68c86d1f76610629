#!/usr/bin/env bash
# Installs the official Standard Webhooks libraries that hookrelay-signature's compatibility
# tests (crates/hookrelay-signature/tests/official_libraries.rs) run against, into
# project-local, gitignored directories:
#   - PyPI `standardwebhooks` into crates/hookrelay-signature/tests/foreign/.python
#   - npm `standardwebhooks` into crates/hookrelay-signature/tests/foreign/node/node_modules
#     (versions pinned by package.json and package-lock.json there)
#   - npm `openapi-typescript` and `typescript` into clients/typescript/node_modules, for the
#     TypeScript client's drift test (crates/hookrelay/tests/it/clients_typescript.rs)
#   - PyPI `schemathesis`, the fuzzer of the API contract test (crates/hookrelay/tests/it/
#     contract.rs), into a virtualenv at crates/hookrelay/tests/fuzz/.venv
#   - PyPI `datamodel-code-generator`, the Python client's generator (scripts/generate-clients.sh),
#     into a virtualenv at clients/python/.venv
#   - a wheel of PyPI `setuptools` into clients/python/.wheels, the build backend that the Python
#     client's offline install test (crates/hookrelay/tests/it/clients.rs) installs from there
# Idempotent and quiet: does nothing when the pinned versions are already there. Needs python3
# with pip and venv, and node with npm.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON_VERSION=1.1.0
SCHEMATHESIS_VERSION=4.32.5
foreign=crates/hookrelay-signature/tests/foreign

installed_python=$(cat "$foreign"/.python/standardwebhooks-*.dist-info/METADATA 2>/dev/null \
  | sed -n 's/^Version: //p' | head -n 1 || true)
if [ "$installed_python" != "$PYTHON_VERSION" ]; then
  python3 -m pip --version >/dev/null 2>&1 \
    || { echo "$0: python3 has no pip (on Debian/Ubuntu: apt-get install python3-pip)" >&2; exit 1; }
  rm -rf "$foreign/.python"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-input --no-compile \
    --target "$foreign/.python" "standardwebhooks==$PYTHON_VERSION"
fi

wanted_node=$(node -p 'require("./'"$foreign"'/node/package-lock.json").packages["node_modules/standardwebhooks"].version')
installed_node=$(node -p 'try { require("./'"$foreign"'/node/node_modules/standardwebhooks/package.json").version } catch { "" }')
if [ "$installed_node" != "$wanted_node" ]; then
  command -v npm >/dev/null || { echo "$0: npm is not installed" >&2; exit 1; }
  npm ci --prefix "$foreign/node" --silent --no-audit --no-fund >/dev/null
fi

# The TypeScript client's generator (pinned by its package.json and package-lock.json).
client=clients/typescript
wanted_generator=$(node -p 'require("./'"$client"'/package-lock.json").packages["node_modules/openapi-typescript"].version')
installed_generator=$(node -p 'try { require("./'"$client"'/node_modules/openapi-typescript/package.json").version } catch { "" }')
if [ "$installed_generator" != "$wanted_generator" ]; then
  command -v npm >/dev/null || { echo "$0: npm is not installed" >&2; exit 1; }
  npm ci --prefix "$client" --silent --no-audit --no-fund >/dev/null
fi

# schemathesis brings many dependencies (hypothesis, requests, …): a virtualenv of its own keeps
# them apart from the system's Python and from the standardwebhooks install above.
fuzz=crates/hookrelay/tests/fuzz/.venv
installed_st=$("$fuzz/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)
if [ "$installed_st" != "$SCHEMATHESIS_VERSION" ]; then
  rm -rf "$fuzz"
  python3 -m venv "$fuzz" \
    || { echo "$0: python3 cannot make a virtualenv (on Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
  PIP_ROOT_USER_ACTION=ignore "$fuzz/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "schemathesis==$SCHEMATHESIS_VERSION"
fi

# The Python client's generator (scripts/generate-clients.sh; its drift test is in
# crates/hookrelay/tests/it/clients.rs), in a virtualenv of its own at clients/python/.venv.
DATAMODEL_CODEGEN_VERSION=0.89.0
codegen=clients/python/.venv
installed_dcg=$("$codegen/bin/python" -c 'import importlib.metadata as m; print(m.version("datamodel-code-generator"))' 2>/dev/null || true)
if [ "$installed_dcg" != "$DATAMODEL_CODEGEN_VERSION" ]; then
  rm -rf "$codegen"
  python3 -m venv "$codegen" \
    || { echo "$0: python3 cannot make a virtualenv (on Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
  PIP_ROOT_USER_ACTION=ignore "$codegen/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "datamodel-code-generator==$DATAMODEL_CODEGEN_VERSION"
fi

# `pip install --no-index --no-build-isolation ./clients/python` builds with the setuptools of the
# environment it installs into, and needs 70.1 or later (earlier ones need `wheel` too); Python
# 3.11's virtualenvs come with 65.5. The offline install test installs this pinned wheel into a
# fresh virtualenv first, as clients/python/README.md tells an offline user to.
SETUPTOOLS_VERSION=80.9.0
wheels=clients/python/.wheels
if [ ! -f "$wheels/setuptools-$SETUPTOOLS_VERSION-py3-none-any.whl" ]; then
  rm -rf "$wheels"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip download --quiet --disable-pip-version-check --no-input \
    --no-deps --only-binary=:all: --dest "$wheels" "setuptools==$SETUPTOOLS_VERSION"
fi
