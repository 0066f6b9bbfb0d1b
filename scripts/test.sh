#!/usr/bin/env bash
# Install everything the test suite needs and run all of it: this is the README's test
# command, and exactly what CI (.ci/run) runs.
#   - PostgreSQL, R (with survival, cmprsk and rpact), Chromium with its driver, poppler
#     (pdftoppm) and Pango (for WeasyPrint's PDF) from Debian's packages, via apt-get;
#   - Bassinet with its test extras in the virtual environment .venv, at the exact versions
#     of requirements/lock.txt (pip constraints; regenerate with scripts/lock.sh);
#   - a throwaway PostgreSQL server on 127.0.0.1, so the registry tests run on it too;
#   - ruff, mypy, then pytest. Tests that need PostgreSQL, R or the browser fail here, never skip;
#   - the survival tests a second time under OPENBLAS_CORETYPE=Haswell, so that a result that
#     depends on the BLAS kernel fails here (unless arguments select other tests).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
packages=(postgresql r-base-core r-cran-survival r-cran-cmprsk r-cran-rpact r-cran-foreign
          chromium chromium-driver poppler-utils libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing from Debian: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
echo "== installing bassinet[test] into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -c requirements/lock.txt -e '.[test]'

echo "== starting PostgreSQL"
BASSINET_TEST_POSTGRES_URL="$(bash scripts/postgres.sh start)"
trap 'bash scripts/postgres.sh stop' EXIT
export BASSINET_TEST_POSTGRES_URL BASSINET_REQUIRE_POSTGRES=1 BASSINET_REQUIRE_R=1 BASSINET_REQUIRE_BROWSER=1

echo "== ruff"
.venv/bin/ruff check src tests bench examples
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/python -m pytest "$@"
if [ "$#" -eq 0 ]; then
  echo "== pytest tests/survival under OPENBLAS_CORETYPE=Haswell"
  OPENBLAS_CORETYPE=Haswell .venv/bin/python -m pytest tests/survival
fi
