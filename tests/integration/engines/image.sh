#!/usr/bin/env bash
# Builds the engine tests' image locally, with no registry: Debian's busybox-static (every applet
# as a symlink), a passwd/group with root, nobody and a user 1000, and empty /tmp, /proc, /sys,
# /dev. Usage: image.sh OUTDIR. Writes into OUTDIR:
#   rootfs.tar  the root filesystem as one tar (for `podman import`, `docker import`)
#   image.tar   the same as a docker-archive (`docker save` format, tagged $ENGINES_IMAGE) that
#               `podman load`, `docker load` and `ctr image import` all read
#   name        the image's tag
# The output is reproducible (fixed mtimes and owners), so the layer digest is stable.
set -euo pipefail

ENGINES_IMAGE=${ENGINES_IMAGE:-localhost/runsc-test:latest}

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
mkdir -p -- "$out"
out=$(realpath -- "$out")
busybox=/bin/busybox
if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
    busybox=$(command -v busybox || true)
fi
if [[ -z $busybox ]] || ! "$busybox" --list >/dev/null 2>&1; then
    echo "$0: busybox-static is not installed (tools/install-deps.sh)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/engines-image.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,etc,root,home/user,proc,sys,dev,tmp,run,var/tmp,mnt}
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 700 "$root/root"
cp -- "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [[ $applet == busybox || -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
ln -s bin "$root/sbin"
mkdir -p "$root/usr"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
user:x:1000:
nogroup:x:65534:
EOF
chown 1000:1000 "$root/home/user"
: >"$root/etc/hostname"
: >"$root/etc/hosts"
: >"$root/etc/resolv.conf"

# Everything is root's (this runs as root) but /home/user, which the tar keeps as 1000.
tar --sort=name --mtime=@0 --numeric-owner -C "$root" -cf "$out/rootfs.tar" .

# docker-archive: manifest.json, the config blob (named by its digest) and one layer.
arc=$work/archive
layer_id=$(sha256sum "$out/rootfs.tar" | cut -d' ' -f1)
mkdir -p "$arc/$layer_id"
cp -- "$out/rootfs.tar" "$arc/$layer_id/layer.tar"
echo 1.0 >"$arc/$layer_id/VERSION"
arch=$(uname -m)
case $arch in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
esac
printf '%s' "{\"architecture\":\"$arch\",\"os\":\"linux\",\"created\":\"1970-01-01T00:00:00Z\",\
\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\
\"Cmd\":[\"sh\"],\"WorkingDir\":\"/\"},\
\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$layer_id\"]},\
\"history\":[{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"image.sh: busybox-static\"}]}" \
    >"$work/config.json"
config_id=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv -- "$work/config.json" "$arc/$config_id.json"
printf '%s' "[{\"Config\":\"$config_id.json\",\"RepoTags\":[\"$ENGINES_IMAGE\"],\
\"Layers\":[\"$layer_id/layer.tar\"]}]" >"$arc/manifest.json"
repo=${ENGINES_IMAGE%:*}
tag=${ENGINES_IMAGE##*:}
printf '%s' "{\"$repo\":{\"$tag\":\"$layer_id\"}}" >"$arc/repositories"
tar --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$arc" -cf "$out/image.tar" \
    manifest.json repositories "$config_id.json" "$layer_id"
echo "$ENGINES_IMAGE" >"$out/name"
