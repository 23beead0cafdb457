#!/usr/bin/env bash
# Print a saved plan's rendering (scripts/deploy.sh --plan-only wrote <plan>.txt) as Markdown for a
# GitHub run summary, cut to stay under the summary's size limit.
#
#   scripts/plan_summary.sh <stage> [planfile]
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:?usage: scripts/plan_summary.sh <stage> [planfile]}
text=${2:-build/plans/$stage.tfplan}.txt
echo "### terraform plan: $stage"
if [ ! -f "$text" ]; then echo "No plan was written (see the job log)."; exit 0; fi
grep -E '^(Plan:|No changes\.)' "$text" | tail -n 1 | sed 's/^/**/; s/$/**/' || true
echo '<details><summary>Plan</summary>'
echo
echo '```'
head -c 200000 "$text"
[ "$(wc -c <"$text")" -le 200000 ] || printf '\n... cut: the whole plan is in the artifact plan-%s\n' "$stage"
echo '```'
echo '</details>'
