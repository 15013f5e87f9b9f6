#!/usr/bin/env bash
# nbhub's hub image for the zero-to-jupyterhub chart (docs/kubernetes.md, "nbhub as z2jh's hub
# image"), built without a Dockerfile and without pulling anything:
#
#   deploy/image/build.sh rootfs NBHUB_BIN DIR     lay the image's root file system out in DIR
#   deploy/image/build.sh tar    NBHUB_BIN OUT.tar the same as a tarball (uid 1000 owns /srv/jupyterhub)
#   deploy/image/build.sh import NBHUB_BIN TAG     tar + `docker import` (DOCKER_HOST picks the daemon)
#
# The root file system holds the nbhub binary and exactly the shared libraries it links (found
# with ldd, copied to the same paths, with the dynamic loader), /usr/local/bin/jupyterhub -> nbhub
# (nbhub answers as JupyterHub when called by that name), the CA bundle for outbound TLS, an
# /etc/passwd with jovyan (1000), /tmp, and /srv/jupyterhub owned by 1000. PID 1 is tini
# (Debian's static /usr/bin/tini-static, when the build host has it; package `tini`), as in z2jh's
# own hub image: the chart sets no command, so the image's ENTRYPOINT ["tini", "--"] runs the
# chart's args `jupyterhub --config ...`, and tini reaps zombies and forwards SIGTERM. Without
# tini-static the ENTRYPOINT is empty and nbhub (as jupyterhub) is PID 1 itself: it handles
# SIGTERM and starts no child processes, so there are no zombies to reap.
set -euo pipefail

usage() { sed -n '2,9p' "$0" >&2; exit 2; }
[[ $# -eq 3 ]] || usage
mode=$1 bin=$2 out=$3
[[ -x $bin ]] || { echo "build.sh: $bin is not an executable nbhub binary" >&2; exit 2; }

rootfs() {
  local root=$1
  mkdir -p "$root"/{usr/local/bin,usr/bin,etc/ssl/certs,tmp,srv/jupyterhub,usr/local/etc/jupyterhub,home/jovyan}
  chmod 1777 "$root/tmp"
  install -m 0755 "$bin" "$root/usr/local/bin/nbhub"
  # Debug information is most of a RelWithDebInfo binary (about 200 MB); the image needs none.
  if command -v objcopy >/dev/null; then objcopy --strip-debug "$root/usr/local/bin/nbhub"; fi
  ln -sf nbhub "$root/usr/local/bin/jupyterhub"
  # Every library ldd resolves, and the loader (the line without "=>"), at their own paths.
  # nbhub loads libpq.so.5 with dlopen only for a PostgreSQL db_url (z2jh's hub.db.type:
  # postgres), so ldd does not list it: add it and what it links.
  local pq
  pq=$(/sbin/ldconfig -p | awk '$1 == "libpq.so.5" {print $NF; exit}')
  [[ -n $pq ]] || { echo "build.sh: libpq.so.5 is not installed (apt-get install libpq5); the image needs it for PostgreSQL" >&2; exit 1; }
  { ldd "$bin"; printf '\tlibpq.so.5 => %s (0)\n' "$pq"; ldd "$pq"; } |
    awk '/=> \// {print $3} /^\t\// {print $1}' | sort -u | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  # Debian 12 is merged-/usr: /lib64 and /lib are links into /usr; keep them so in the image.
  for d in lib lib64; do
    if [[ -L /$d && -d $root/$d && ! -L $root/$d ]]; then
      mkdir -p "$root/usr/$d"; cp -a "$root/$d/." "$root/usr/$d/"; rm -rf "${root:?}/$d"
    fi
    [[ -L /$d ]] && ln -sfn "usr/$d" "$root/$d"
  done
  if [[ -x /usr/bin/tini-static ]]; then install -m 0755 /usr/bin/tini-static "$root/usr/bin/tini"; fi
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\njovyan:x:1000:1000:jovyan:/home/jovyan:/usr/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\njovyan:x:1000:\n' >"$root/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  : >"$root/etc/hosts"; : >"$root/etc/resolv.conf"   # the runtime mounts its own
}

entrypoint() {
  if [[ -x $1/usr/bin/tini ]]; then echo '["tini", "--"]'; else echo '[]'; fi
}

to_tar() {
  local root=$1 tar=$2
  # Numeric owners: root for everything, 1000 for the hub's working directory and home.
  tar -C "$root" --numeric-owner --owner=0 --group=0 --exclude=./srv/jupyterhub --exclude=./home/jovyan -cf "$tar" .
  tar -C "$root" --numeric-owner --owner=1000 --group=1000 -rf "$tar" ./srv/jupyterhub ./home/jovyan
}

case $mode in
  rootfs) rootfs "$out" ;;
  tar)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    rootfs "$tmp/root"; to_tar "$tmp/root" "$out" ;;
  import)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    rootfs "$tmp/root"; to_tar "$tmp/root" "$tmp/rootfs.tar"
    ep=$(entrypoint "$tmp/root")
    cmd='["jupyterhub", "--config", "/usr/local/etc/jupyterhub/jupyterhub_config.py"]'
    docker import \
      --change 'USER 1000' \
      --change 'WORKDIR /srv/jupyterhub' \
      --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
      --change 'EXPOSE 8081' \
      --change "ENTRYPOINT $ep" \
      --change "CMD $cmd" \
      "$tmp/rootfs.tar" "$out" ;;
  *) usage ;;
esac
