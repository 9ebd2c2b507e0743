#!/usr/bin/env bash
# Builds the images docker/Dockerfile starts from out of Debian packages alone, for machines that
# cannot pull from a registry (air-gapped sites): debootstrap a minimal Debian 12, install Java,
# `docker import` the result. Run as root (debootstrap and chroot); needs debootstrap and a Debian
# mirror (DEBIAN_MIRROR, default deb.debian.org). Certificates in LOCAL_CA_DIR (default
# /usr/local/share/ca-certificates) are added to the image's trust stores.
#   docker/local-base.sh            # latentfarm-base:bookworm   (openjdk-17-jre-headless: BASE_IMAGE)
#   docker/local-base.sh build      # latentfarm-build:bookworm  (openjdk-17-jdk-headless + maven: BUILD_IMAGE)
# then: docker build --network host -f docker/Dockerfile \
#   --build-arg BASE_IMAGE=latentfarm-base:bookworm --build-arg BUILD_IMAGE=latentfarm-build:bookworm -t latentfarm .
set -euo pipefail
kind="${1:-jre}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
case "$kind" in
  jre)   name=latentfarm-base:bookworm;  packages="openjdk-17-jre-headless ca-certificates" ;;
  build) name=latentfarm-build:bookworm; packages="openjdk-17-jdk-headless maven ca-certificates" ;;
  *) echo "local-base.sh: \"$kind\" is not one of jre, build" >&2; exit 2 ;;
esac
rootfs="$(mktemp -d)"
cleanup() {
  umount "$rootfs/proc" 2>/dev/null || true
  rm -rf "$rootfs"
}
trap cleanup EXIT
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
mount -t proc proc "$rootfs/proc"
chroot "$rootfs" apt-get update -qq
# shellcheck disable=SC2086 # the package list
DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get install -y -qq --no-install-recommends $packages >/dev/null
# The host's own CA certificates (a proxy's, a company's) go in too, so Maven in the build image
# trusts what the host trusts.
ca_dir="${LOCAL_CA_DIR:-/usr/local/share/ca-certificates}"
if compgen -G "$ca_dir/*.crt" >/dev/null; then
  cp "$ca_dir"/*.crt "$rootfs/usr/local/share/ca-certificates/"
  chroot "$rootfs" update-ca-certificates >/dev/null
fi
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs/etc/resolv.conf"
umount "$rootfs/proc"
tar -C "$rootfs" --exclude=./proc -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' - "$name" >/dev/null
echo "local-base.sh: built $name"
