#!/usr/bin/env bash
# Kafka runs on the JVM (>= 17) and is resolved with Maven; install both from Debian if missing.
set -euo pipefail
if command -v java >/dev/null && command -v mvn >/dev/null; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "batchline needs Java >= 17 and Maven on PATH (no apt-get here to install them)" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
$SUDO apt-get install -y -q openjdk-17-jre-headless maven
