#!/usr/bin/env bash
# Renders a frugal report in headless Chromium: the plots must be in the rendered DOM, the
# page's script must have run to its end without an exception (it then writes "report-ok"
# into #report-status), and a screenshot is saved. Exit 77 (skipped) without Chromium.
# Usage: report_browser.sh REPORT.html SCREENSHOT.png
set -u
html="$1" png="$2"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome) || {
  echo "chromium is not installed (scripts/setup.sh installs it): skipped"; exit 77; }
[ -s "$html" ] || { echo "FAIL: no report at $html"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
url="file://$(realpath "$html")"
flags=(--headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$tmp/profile"
       --virtual-time-budget=5000)
timeout 90 "$browser" "${flags[@]}" --dump-dom "$url" >"$tmp/dom.html" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: chromium exited $rc"; tail -5 "$tmp/err"; exit 1; }
fails=0
grep -q 'id="report-status" data-ok="1"' "$tmp/dom.html" ||
  { echo "FAIL: the page's script did not finish:"; grep -o 'id="report-status"[^<]*<' "$tmp/dom.html"; fails=1; }
plots=$(grep -o '<svg[^>]*class="plot"' "$tmp/dom.html" | wc -l)
circles=$(grep -o '<circle class="pt' "$tmp/dom.html" | wc -l)
[ "$plots" -ge 5 ] || { echo "FAIL: $plots plots in the rendered page (want 5 or more)"; fails=1; }
[ "$circles" -ge 1 ] || { echo "FAIL: no data points drawn"; fails=1; }
grep -q "report-ok plots=$plots" "$tmp/dom.html" || { echo "FAIL: the script counted other plots"; fails=1; }
# The answers section opens the page: four questions, each with its sentence.
answers=$(grep -o '<div class="answer" id="answer-[a-z]*"' "$tmp/dom.html" | wc -l)
sentences=$(grep -o '<p class="sentence">[^<]' "$tmp/dom.html" | wc -l)
[ "$answers" -eq 4 ] && [ "$sentences" -eq 4 ] ||
  { echo "FAIL: $answers answers with $sentences sentences in the rendered page (want 4)"; fails=1; }
grep -q "answers=$answers" "$tmp/dom.html" || { echo "FAIL: the script counted other answers"; fails=1; }
timeout 90 "$browser" "${flags[@]}" --window-size=1400,2400 --screenshot="$png" "$url" >/dev/null 2>"$tmp/err2"
if [ "$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
  echo "FAIL: no PNG screenshot at $png"; tail -5 "$tmp/err2"; fails=1
fi
echo "report_browser: $answers answers, $plots plots, $circles points drawn, script ok, screenshot $png ($(stat -c %s "$png" 2>/dev/null || echo 0) bytes)"
exit $fails
