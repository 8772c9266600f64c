#!/usr/bin/env bash
# Lints infra/template.yaml (or the template given as $1) with the real tools, offline and without AWS credentials:
#   1. cfn-lint, a version that still expands the SAM transform (see CFN_LINT_VERSION),
#      first proven to catch a deliberately broken copy, then on the template: 0 errors;
#   2. checkov (CloudFormation framework): every failed check fixed or suppressed in the
#      template with a reason (Metadata: checkov: skip);
#   3. sam validate --lint.
# The tools live in virtualenvs under target/venvs/, created on first use and reused;
# each has its own because their pins conflict (checkov downgrades boto3/botocore,
# aws-sam-cli pulls a cfn-lint that no longer expands the transform).
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPLATE="${1:-infra/template.yaml}"
VENVS=target/venvs

# Pinned versions. cfn-lint 1.54.0 dropped its aws-sam-translator dependency and with it
# the SAM transform: from 1.54 on (1.58 is what aws-sam-cli 1.170 brings) a bad Runtime
# in Globals or a bad schedule expression lints clean. 1.53.3 is the newest that expands
# the transform and catches both (checked against broken copies of the template).
SAM_CLI_VERSION=1.170.0
CFN_LINT_VERSION=1.53.3
CHECKOV_VERSION=3.3.30
PYTHON="${PYTHON:-python3}"

# No AWS account is needed or wanted: a region for the SDKs, no credentials, no telemetry.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export SAM_CLI_TELEMETRY=0
export PIP_DISABLE_PIP_VERSION_CHECK=1

fail() {
    echo "lint-infra: FAILED: $*" >&2
    exit 1
}

source scripts/venv.sh
venv lint-infra cfn-lint "cfn-lint==$CFN_LINT_VERSION" || fail "cfn-lint could not be installed"
venv lint-infra checkov "checkov==$CHECKOV_VERSION" || fail "checkov could not be installed"
venv lint-infra sam "aws-sam-cli==$SAM_CLI_VERSION" || fail "aws-sam-cli could not be installed"

CFN_LINT="$VENVS/cfn-lint/bin/cfn-lint"
CHECKOV="$VENVS/checkov/bin/checkov"
SAM="$VENVS/sam/bin/sam"

# --- 1. cfn-lint ---------------------------------------------------------------------
# Canary: a broken copy must fail, or this cfn-lint is not looking inside the SAM
# resources (a new version without the transform would pass everything silently).
canary="$(mktemp -d)"
trap 'rm -rf "$canary"' EXIT
sed -e 's/Runtime: provided\.al2023/Runtime: provided.al2099/' \
    -e 's/Schedule: !Ref JobCreatorSchedule/Schedule: rate(15 minutez)/' \
    "$TEMPLATE" > "$canary/template.yaml"
canary_output="$("$CFN_LINT" --format parseable "$canary/template.yaml" || true)"
grep -q "E3030" <<< "$canary_output" \
    || fail "cfn-lint $CFN_LINT_VERSION did not flag a bad Runtime in a broken copy: it is not expanding the SAM transform"
grep -q "E3027" <<< "$canary_output" \
    || fail "cfn-lint $CFN_LINT_VERSION did not flag a bad schedule in a broken copy: it is not expanding the SAM transform"

echo "lint-infra: cfn-lint $CFN_LINT_VERSION"
"$CFN_LINT" "$TEMPLATE" || fail "cfn-lint reported problems in $TEMPLATE (above)"

# --- 2. checkov ----------------------------------------------------------------------
echo "lint-infra: checkov $CHECKOV_VERSION"
"$CHECKOV" --skip-download --framework cloudformation --file "$TEMPLATE" --compact --quiet \
    || fail "checkov found failed checks in $TEMPLATE (above); fix them or skip them in the resource's Metadata with a reason"

# --- 3. sam validate -----------------------------------------------------------------
echo "lint-infra: sam validate --lint (aws-sam-cli $SAM_CLI_VERSION)"
"$SAM" validate --lint --template "$TEMPLATE" || fail "sam validate --lint rejected $TEMPLATE"

echo "lint-infra: OK"
