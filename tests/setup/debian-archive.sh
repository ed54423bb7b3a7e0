#!/usr/bin/env bash
# Prints the Debian archive URI this machine's apt already uses, so that no script in the
# repository names a mirror host of its own. In order:
#   1. $DEBIAN_MIRROR, when set and non-empty;
#   2. /etc/apt/sources.list.d/debian.sources (deb822): the URIs: of the first enabled
#      stanza with "Types: deb", component main and a plain release suite (bookworm,
#      stable, ...: not -security, -updates or -backports), i.e. the debian archive;
#   3. /etc/apt/sources.list: the first "deb [options] URI SUITE main" line, same rule.
# Only http, https and file URIs count (what debootstrap and curl can fetch); a trailing
# slash is dropped. Exits 1 with a message naming the files it read when nothing is found.
#
# Run it (`mirror=$(bash tests/setup/debian-archive.sh)`) or source it and call
# `debian_archive`. APT_DEBIAN_SOURCES and APT_SOURCES_LIST override the two paths (tests).

debian_archive() {
  local deb822=${APT_DEBIAN_SOURCES:-/etc/apt/sources.list.d/debian.sources}
  local list=${APT_SOURCES_LIST:-/etc/apt/sources.list}
  local uri=""
  if [ -n "${DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "${DEBIAN_MIRROR%/}"
    return 0
  fi
  if [ -r "$deb822" ]; then
    uri=$(awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false)$/ && comps ~ /(^| )main( |$)/ &&
            suites ~ /(^| )[a-z]+( |$)/) {
          n = split(uris, u, " ")
          for (i = 1; i <= n; i++)
            if (u[i] ~ /^(https?|file):\/\// && !found) found = u[i]
        }
        types = uris = suites = comps = enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        key = tolower($1); sub(/:$/, "", key)
        val = $0; sub(/^[^:]*:[ \t]*/, "", val); gsub(/[ \t]+/, " ", val)
        if (key == "types") types = val
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "components") comps = val
        else if (key == "enabled") enabled = tolower(val)
      }
      END { flush(); if (found) print found }
    ' "$deb822")
  fi
  if [ -z "$uri" ] && [ -r "$list" ]; then
    uri=$(awk '
      /^[ \t]*deb[ \t]/ && !found {
        line = $0; sub(/#.*/, "", line)
        sub(/^[ \t]*deb[ \t]+/, "", line)
        if (line ~ /^\[/) sub(/^\[[^]]*\][ \t]*/, "", line)
        n = split(line, f, /[ \t]+/)
        if (n < 3 || f[1] !~ /^(https?|file):\/\// || f[2] !~ /^[a-z]+$/) next
        for (i = 3; i <= n; i++) if (f[i] == "main") { found = f[1]; break }
      }
      END { if (found) print found }
    ' "$list")
  fi
  if [ -z "$uri" ]; then
    echo "debian-archive: no Debian archive found: set DEBIAN_MIRROR, or configure apt" \
      "(a 'Types: deb' stanza with a plain suite and component main in $deb822," \
      "or a 'deb URI SUITE main' line in $list)" >&2
    return 1
  fi
  printf '%s\n' "${uri%/}"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  debian_archive
fi
