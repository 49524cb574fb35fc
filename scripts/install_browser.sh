#!/usr/bin/env bash
# Install Debian's Chromium and ChromeDriver for the browser test (tests/browser), if missing.
#
# Idempotent: does nothing when /usr/bin/chromium already exists. Uses apt-get only; Playwright's
# own browser download (`playwright install`) does not work on this kind of machine and is never used.
# Needs root (or sudo without a password). Exit 0 when /usr/bin/chromium is usable afterwards, 1 otherwise.
set -euo pipefail

CHROMIUM="${PERSONAS_CHROMIUM:-/usr/bin/chromium}"  # the variable only for the script's own test

already_present() {
    if [ -x "$CHROMIUM" ]; then
        echo "install_browser: $CHROMIUM already present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
        return 0
    fi
    return 1
}

already_present && exit 0

# One installer at a time: the test suite's two workers both need the browser and both start this
# script on a new machine; the second one's `apt-get update` failed at once on apt's list lock
# (exit 100, "Could not get lock /var/lib/apt/lists/lock"), which DPkg::Lock::Timeout does not cover.
# The second waits here for the first, then finds the browser installed.
LOCK_FILE="${TMPDIR:-/tmp}/persona-collections-install-browser.lock"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK_FILE"
    if ! flock -w 900 9; then
        echo "install_browser: another installation held $LOCK_FILE for 15 minutes; giving up" >&2
        exit 1
    fi
    already_present && exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: apt-get not found; install Chromium by hand so that $CHROMIUM exists" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install_browser: not root and no password-less sudo; run as root: apt-get install -y chromium chromium-driver" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install_browser: installing Debian chromium and chromium-driver with apt-get"
# Another apt process (not ours: an unattended upgrade) may hold the locks: wait for it instead of failing.
# DPkg::Lock::Timeout waits for dpkg's lock; the package lists' lock of `update` is retried here.
for attempt in $(seq 1 60); do
    if $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq; then
        break
    fi
    if [ "$attempt" -eq 60 ]; then
        echo "install_browser: apt-get update failed 60 times (5 minutes)" >&2
        exit 1
    fi
    echo "install_browser: apt-get update failed (another apt process?); trying again in 5 s" >&2
    sleep 5
done
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium chromium-driver fonts-noto-color-emoji

if [ ! -x "$CHROMIUM" ]; then
    echo "install_browser: apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "install_browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
