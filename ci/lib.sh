# shellcheck shell=bash
# Shared helpers for the ci/*.sh scripts. Source it; do not run it.
#
#   . "$(dirname "$0")/lib.sh"
#
# Every helper is idempotent and safe to call again on a warm machine: the
# scripts are rerun often, and a rerun must cost seconds, not minutes.

# ---- messages --------------------------------------------------------------

ci_log() { printf '==> %s\n' "$*" >&2; }
ci_die() { printf 'ci: error: %s\n' "$*" >&2; exit 1; }

# Parallel compile jobs: the CI machine has 2 cores.
# shellcheck disable=SC2034 # used by the scripts that source this file
CI_JOBS=${MPROC_JOBS:-2}

# ---- Debian packages -------------------------------------------------------

# ci_apt_install PKG...: install the packages that are not installed yet.
# Runs apt-get update first only when apt has no package lists at all, or
# when an install fails (the lists may be stale); never touches the apt
# sources.
ci_apt_install() {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
        grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  ci_log "installing ${missing[*]}"
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  fi
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null; then
    $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# ci_need_cmd CMD PKG: install PKG when the command CMD is missing.
ci_need_cmd() {
  command -v "$1" >/dev/null 2>&1 || ci_apt_install "$2"
}

# ci_debsrc_list: print deb-src lines for the Debian mirrors this machine
# already uses (deb822 /etc/apt/sources.list.d/*.sources, else the
# one-line /etc/apt/sources.list), one line per URI and suite.
ci_debsrc_list() {
  local f found=0
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    found=1
    # deb822: blank-line separated stanzas of "Key: value" fields.
    awk '
      function flush(   i, j, nu, ns, u, s, opt) {
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && uris != "" && suites != "") {
          opt = (signed != "") ? "[signed-by=" signed "] " : ""
          nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
          for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
            if (u[i] != "" && s[j] != "")
              print "deb-src " opt u[i] " " s[j] " " comps
        }
        types = uris = suites = comps = signed = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        key = $1; sub(/:$/, "", key); val = $0
        sub(/^[^:]*:[ \t]*/, "", val)
        if (key == "Types") types = val
        else if (key == "URIs") uris = val
        else if (key == "Suites") suites = val
        else if (key == "Components") comps = val
        else if (key == "Signed-By") signed = val
      }
      END { flush() }' "$f"
  done
  if [ "$found" -eq 0 ] && [ -r /etc/apt/sources.list ]; then
    sed -n 's/^[ \t]*deb[ \t]/deb-src /p' /etc/apt/sources.list
  fi
}

# ci_debian_source DEST SRCPKG...: download Debian's source packages and
# unpack each into DEST/SRCPKG (skipped when already there). apt reads a
# private sources list and private package lists under DEST/apt: the
# system's apt configuration is never modified.
ci_debian_source() {
  local dest=$1; shift
  local need=() p
  for p in "$@"; do
    [ -f "$dest/$p/.unpacked" ] || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  ci_need_cmd dpkg-source dpkg-dev
  ci_need_cmd xz xz-utils
  local priv
  mkdir -p "$dest/apt"
  priv=$(cd "$dest/apt" && pwd)
  mkdir -p "$priv/lists/partial" "$priv/cache/archives/partial" "$priv/dl"
  ci_debsrc_list >"$priv/sources.list"
  [ -s "$priv/sources.list" ] || ci_die "no Debian mirror found in /etc/apt"
  local apt_opts=(-o "Dir::Etc::SourceList=$priv/sources.list"
    -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$priv/lists"
    -o "Dir::Cache=$priv/cache"
    -o APT::Sandbox::User=root)
  ci_log "fetching Debian sources: ${need[*]}"
  apt-get "${apt_opts[@]}" -qq update
  (cd "$priv/dl" && apt-get "${apt_opts[@]}" -qq source --download-only \
    "${need[@]}" >/dev/null)
  for p in "${need[@]}"; do
    local dsc
    # The newest .dsc of this source package (binary names such as libuv1
    # are also source names here).
    dsc=$(ls -1 "$priv/dl/${p}"_*.dsc 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dsc" ] || ci_die "apt-get source brought no .dsc for $p"
    rm -rf "${dest:?}/$p"
    dpkg-source --no-check -x "$dsc" "$dest/$p" >/dev/null
    touch "$dest/$p/.unpacked"
  done
}
