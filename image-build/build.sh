#!/usr/bin/env bash
# Builds the Cairn appliance disk image (raw and qcow2) as the manifest says.
#   bash image-build/build.sh [--out DIR] [--refresh] [--no-app-build]
#     --out DIR       where disk.raw, disk.qcow2, manifest.txt go (default image-build/out)
#     --refresh       bootstrap again even if a cached one matches the inputs
#     --no-app-build  do not run scripts/setup.sh --build-only first
# Needs root (mmdebstrap root mode), mmdebstrap, sfdisk, mkfs.vfat, mtools,
# mkfs.ext4, qemu-img, systemd-boot-efi (all in packages.txt, scope dev).
# Nothing is mounted: the disk is put together with offsets.
set -euo pipefail
# The whole script is one block: bash reads it completely before running
# it, so editing build.sh while a build runs cannot derail that build.
{
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
MANIFEST=$HERE/manifest
OUT=$HERE/out
CACHE=${CAIRN_IMAGE_CACHE:-/var/tmp/cairn-image/cache}
REFRESH=0
APP_BUILD=1

while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --out=*) OUT=${1#--out=}; shift ;;
    --refresh) REFRESH=1; shift ;;
    --no-app-build) APP_BUILD=0; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument '$1' (--help lists them)" >&2; exit 64 ;;
  esac
done

T0=$(date +%s)
log() { printf 'image: [%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { printf 'image: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: mmdebstrap's root mode and file ownership in the image need it"
for tool in mmdebstrap sfdisk mkfs.vfat mcopy mmd mkfs.ext4 qemu-img systemctl dpkg-query; do
  command -v "$tool" >/dev/null || die "$tool is missing: run 'bash scripts/setup.sh' (installs packages.txt)"
done
BOOT_EFI=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
[ -f "$BOOT_EFI" ] || die "$BOOT_EFI is missing: apt-get install systemd-boot-efi"

# --- the manifest ---------------------------------------------------------
# m KEY: every value of KEY, one line each, comments stripped.
m() { sed -e 's/#.*//' "$MANIFEST" | awk -v k="$1" '$1 == k { $1 = ""; sub(/^ +/, ""); print }'; }
m1() { local v; v=$(m "$1"); [ -n "$v" ] || die "manifest: no '$1' line"; printf '%s\n' "$v" | head -n1; }

RELEASE=$(m1 release)
ARCH=$(m1 arch)
VARIANT=$(m1 variant)
COMPONENTS=$(m1 components)
CMDLINE=$(m1 cmdline)

# Ordered package list: manifest lines, with "@packages.txt SCOPE" expanded
# to that scope's lines of the one package list, in its order.
PACKAGES=()
while read -r pkg scope; do
  if [ "$pkg" = "@packages.txt" ]; then
    mapfile -t -O "${#PACKAGES[@]}" PACKAGES < <(sed -e 's/#.*//' "$HERE/packages.txt" | awk -v s="$scope" 'NF && $2 == s { print $1 }')
  else
    PACKAGES+=("$pkg")
  fi
done < <(m package)
[ ${#PACKAGES[@]} -gt 0 ] || die "manifest: no packages"

APT_SOURCES=()
while read -r url suites; do
  for s in $suites; do APT_SOURCES+=("deb $url $s $COMPONENTS"); done
done < <(m mirror)

mkdir -p "$OUT" "$CACHE"
OUT=$(cd "$OUT" && pwd)
# The root tree is unpacked, assembled and thrown away: in memory when
# /dev/shm has room (deleting a GiB of fresh files on a busy disk is slow).
WORK_BASE=${CAIRN_IMAGE_WORK:-/var/tmp}
if [ -z "${CAIRN_IMAGE_WORK:-}" ] && [ "$(df --output=avail -k /dev/shm 2>/dev/null | tail -n1)" -gt $((4 * 1024 * 1024)) ] 2>/dev/null; then
  WORK_BASE=/dev/shm
fi
WORK=$(mktemp -d "$WORK_BASE/cairn-image-work.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
ROOTFS=$WORK/rootfs

# --- steps ----------------------------------------------------------------
step_bootstrap() {
  local key tarball
  # The key covers the manifest's inputs; bump cache-format when the
  # mmdebstrap options below change.
  key=$( {
    echo "cache-format 1"
    mmdebstrap --version
    echo "$RELEASE $ARCH $VARIANT $COMPONENTS"
    printf '%s\n' "${APT_SOURCES[@]}" "${PACKAGES[@]}"
  } | sha256sum | cut -c1-16)
  tarball=$CACHE/bootstrap-$RELEASE-$key.tar
  # One builder per cache key at a time; the others wait and reuse its result.
  exec 9>"$tarball.lock"
  flock 9
  if [ "$REFRESH" = 1 ] || [ ! -s "$tarball" ]; then
    log "bootstrap: mmdebstrap $RELEASE (${#PACKAGES[@]} packages asked for), cache key $key"
    local inc
    inc=$(IFS=,; echo "${PACKAGES[*]}")
    nice mmdebstrap --mode=root --format=tar --variant="$VARIANT" --arch="$ARCH" \
      --include="$inc" \
      --aptopt='APT::Install-Recommends "false"' \
      --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --customize-hook='chroot "$1" apt-get clean' \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/*' \
      "$RELEASE" "$tarball.tmp" "${APT_SOURCES[@]}" >&2
    mv "$tarball.tmp" "$tarball"
  else
    log "bootstrap: cached $tarball"
  fi
  flock -u 9
  exec 9>&-
  mkdir -p "$ROOTFS"
  tar -C "$ROOTFS" --xattrs --xattrs-include='*' --numeric-owner -xpf "$tarball"
  BOOTSTRAP_KEY=$key
}

step_node() {
  # The Node the test suite ran on goes into the image: same binary, no
  # download. It lives beside Cairn, not as Debian's nodejs (which is 18).
  local node major
  node=$(readlink -f "$(command -v node)")
  major=$("$node" -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "the host's node is $("$node" --version): Cairn needs Node 20 or newer"
  install -D -m 0755 "$node" "$ROOTFS/opt/cairn/node/bin/node"
  ln -sf /opt/cairn/node/bin/node "$ROOTFS/usr/local/bin/node"
  NODE_VERSION=$("$node" --version)
  NODE_SHA=$(sha256sum "$node" | cut -d' ' -f1)
  log "node: $NODE_VERSION from $node"
}

step_cairn() {
  if [ "$APP_BUILD" = 1 ]; then
    log "cairn: scripts/setup.sh --build-only"
    (cd "$REPO" && nice bash scripts/setup.sh --build-only >&2)
  fi
  local need
  for need in appliance/dist/src/main.js appliance/bin/cairnd.js web-ui/dist/index.html; do
    [ -f "$REPO/$need" ] || die "$need is not built: run 'npm run build'"
  done
  compgen -G "$REPO/native/*.node" >/dev/null || die "native module is not built: run 'npm run build'"

  local dst=$ROOTFS/opt/cairn
  mkdir -p "$dst/appliance/dist" "$dst/native" "$dst/web-ui"
  cp "$REPO/package.json" "$REPO/package-lock.json" "$REPO/README.md" "$dst/"
  cp "$REPO/appliance/package.json" "$dst/appliance/"
  cp -a "$REPO/appliance/bin" "$dst/appliance/"
  cp -a "$REPO/appliance/dist/src" "$dst/appliance/dist/"
  cp "$REPO/native/package.json" "$REPO/native/index.js" "$REPO/native/"*.node "$dst/native/"
  [ -f "$REPO/native/index.d.ts" ] && cp "$REPO/native/index.d.ts" "$dst/native/"
  cp "$REPO/web-ui/package.json" "$dst/web-ui/"
  cp -a "$REPO/web-ui/dist" "$dst/web-ui/"
  # Production dependencies of cairnd, exactly as package-lock.json pins
  # them, from npm's cache when it has them (it does after npm ci).
  log "cairn: npm ci --omit=dev (appliance)"
  (cd "$dst" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline \
      --workspace appliance --loglevel=error >&2)
  ln -sf /opt/cairn/appliance/bin/cairnd.js "$ROOTFS/usr/local/bin/cairnd"
  ln -sf /opt/cairn/appliance/bin/cairnctl.js "$ROOTFS/usr/local/bin/cairnctl"
  ln -sf /opt/cairn/appliance/bin/cairn-georep.js "$ROOTFS/usr/local/bin/cairn-georep"
  CAIRN_COMMIT=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git -C "$REPO" status --porcelain 2>/dev/null)" ]; then CAIRN_COMMIT="$CAIRN_COMMIT+dirty"; fi
  log "cairn: $(du -sh "$dst" | cut -f1) in /opt/cairn (commit $CAIRN_COMMIT)"
}

step_overlay() {
  # Files are copied with their modes; owner root.
  cp -a --no-preserve=ownership "$HERE/rootfs/." "$ROOTFS/"
}

step_configure() {
  local r=$ROOTFS
  # Identity: every copy of the image gets its own on first boot
  # (image-build/rootfs/usr/lib/cairn/firstboot). An empty machine-id makes
  # systemd generate one; "uninitialized" would start systemd-firstboot,
  # which waits for console input.
  : >"$r/etc/machine-id"
  rm -f "$r/var/lib/dbus/machine-id"
  echo cairn >"$r/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tcairn\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
  mkdir -p "$r/var/lib/cairn"
  rm -f "$r"/etc/ssh/ssh_host_*
  rm -f "$r/var/lib/glusterd/glusterd.info"
  # mmdebstrap copied the build host's resolver; resolved owns it here.
  ln -sf ../run/systemd/resolve/stub-resolv.conf "$r/etc/resolv.conf"

  # Units: one command per unit, so that one missing unit names itself.
  local u
  for u in systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
           glusterd.service rpcbind.socket ssh.service \
           cairn-firstboot.service cairn-bricks.service cairnd.service cairn-issue.service cairn-issue.path; do
    systemctl --root="$r" enable "$u" >/dev/null 2>&1 || die "systemctl enable $u failed in the image"
  done
  # cairnd runs and configures Samba itself (in its own cgroup, so stopping
  # cairnd stops smbd and samba-dcerpcd too): Debian's units must not.
  for u in smbd.service nmbd.service samba-ad-dc.service; do
    systemctl --root="$r" mask "$u" >/dev/null 2>&1 || die "systemctl mask $u failed in the image"
  done
  # CTDB is for clustered Samba: cairnd starts it when a cluster asks for it.
  systemctl --root="$r" disable ctdb.service >/dev/null 2>&1 || true
}

step_record() {
  local f=$ROOTFS/usr/share/cairn/manifest.txt pkgs
  pkgs=$(dpkg-query --admindir="$ROOTFS/var/lib/dpkg" -W -f='${Package}\t${Version}\t${Architecture}\n' | sort)
  mkdir -p "$(dirname "$f")"
  {
    echo "# Cairn appliance image"
    echo "built       $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cairn       $CAIRN_COMMIT"
    echo "release     $RELEASE $ARCH (variant $VARIANT)"
    printf 'source      %s\n' "${APT_SOURCES[@]}"
    echo "bootstrap   $BOOTSTRAP_KEY"
    echo "node        $NODE_VERSION sha256:$NODE_SHA"
    echo "kernel      $KERNEL_VERSION"
    echo "# installed Debian packages: name version architecture"
    echo "$pkgs"
  } >"$f"
  cp "$f" "$OUT/manifest.txt"
  log "record: $(wc -l <<<"$pkgs") Debian packages listed in /usr/share/cairn/manifest.txt"
}

# size string (256M, 2G) -> MiB
mib() { numfmt --from=iec "$1" | awk '{ printf "%d", $1 / 1048576 }'; }

step_assemble() {
  local esp_mib data_mib root_mib used_mib img=$OUT/disk.raw
  esp_mib=$(mib "$(m1 esp_size)")
  data_mib=$(mib "$(m1 data_size)")
  used_mib=$(du -sm --apparent-size "$ROOTFS" | cut -f1)
  root_mib=$(( used_mib * 115 / 100 + $(mib "$(m1 root_free)") ))
  local total_mib=$(( 1 + esp_mib + root_mib + data_mib + 1 ))
  log "assemble: ESP ${esp_mib} MiB, root ${root_mib} MiB (${used_mib} MiB used), data ${data_mib} MiB"

  rm -f "$img" "$img.tmp"
  truncate -s "${total_mib}M" "$img.tmp"
  sfdisk --quiet --label gpt "$img.tmp" <<EOF
start=1MiB, size=${esp_mib}MiB, type=uefi, name=cairn-esp
size=${root_mib}MiB, type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709, name=cairn-root
size=${data_mib}MiB, type=linux, name=cairn-data
EOF
  # start and size (sectors) of partition N
  part() { sfdisk --json "$img.tmp" | node -e '
    const t = JSON.parse(require("fs").readFileSync(0, "utf8")).partitiontable;
    const p = t.partitions[Number(process.argv[1]) - 1];
    console.log(p.start, p.size, p.uuid);' "$1"; }
  local esp_start esp_size root_start root_size root_uuid data_start data_size
  read -r esp_start esp_size _ < <(part 1)
  read -r root_start root_size root_uuid < <(part 2)
  read -r data_start data_size _ < <(part 3)

  # ESP: FAT32 with 512-byte clusters (256 MiB has too few clusters for
  # FAT32 otherwise), systemd-boot as the removable-media loader.
  mkfs.vfat -F 32 -s 1 -n CAIRN-ESP --offset "$esp_start" "$img.tmp" $(( esp_size / 2 )) >/dev/null
  local at="$img.tmp@@$(( esp_start * 512 ))"
  mmd -i "$at" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/cairn
  mcopy -i "$at" "$BOOT_EFI" ::/EFI/BOOT/BOOTX64.EFI
  mcopy -i "$at" "$WORK/vmlinuz" ::/cairn/vmlinuz
  mcopy -i "$at" "$WORK/initrd.img" ::/cairn/initrd.img
  printf 'default cairn.conf\ntimeout 0\nconsole-mode keep\neditor no\n' >"$WORK/loader.conf"
  printf 'title Cairn\nlinux /cairn/vmlinuz\ninitrd /cairn/initrd.img\noptions root=PARTUUID=%s %s\n' \
    "${root_uuid,,}" "$CMDLINE" >"$WORK/cairn.conf"
  mcopy -i "$at" "$WORK/loader.conf" ::/loader/loader.conf
  mcopy -i "$at" "$WORK/cairn.conf" ::/loader/entries/cairn.conf
  # The same kernel, initramfs and root beside the disk, for QEMU's direct
  # kernel boot (the quick boot test).
  cp "$WORK/vmlinuz" "$WORK/initrd.img" "$OUT/"
  echo "root=PARTUUID=${root_uuid,,} $CMDLINE" >"$OUT/cmdline"

  # Root and data: ext4 written straight into the partitions.
  nice mkfs.ext4 -q -F -L cairn-root -d "$ROOTFS" -E offset=$(( root_start * 512 )) "$img.tmp" $(( root_size / 2 ))k
  mkfs.ext4 -q -F -L cairn-data -E offset=$(( data_start * 512 )) "$img.tmp" $(( data_size / 2 ))k
  mv "$img.tmp" "$img"
}

step_convert() {
  rm -f "$OUT/disk.qcow2"
  nice qemu-img convert -O qcow2 "$OUT/disk.raw" "$OUT/disk.qcow2.tmp"
  mv "$OUT/disk.qcow2.tmp" "$OUT/disk.qcow2"
}

# The kernel and initramfs that the bootstrap installed go on the ESP.
kernel_files() {
  local k
  k=$(ls "$ROOTFS"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1)
  [ -n "$k" ] || die "no kernel in the bootstrap (is linux-image-amd64 in the manifest?)"
  KERNEL_VERSION=${k##*/vmlinuz-}
  [ -f "$ROOTFS/boot/initrd.img-$KERNEL_VERSION" ] || die "no initramfs for $KERNEL_VERSION in the bootstrap"
  cp "$k" "$WORK/vmlinuz"
  cp "$ROOTFS/boot/initrd.img-$KERNEL_VERSION" "$WORK/initrd.img"
}

# --- run the manifest's steps, in its order -------------------------------
mapfile -t STEPS < <(m step | awk '{ print $1 }')
for s in "${STEPS[@]}"; do
  declare -F "step_$s" >/dev/null || die "manifest: unknown step '$s'"
done
for s in "${STEPS[@]}"; do
  t=$(date +%s)
  "step_$s"
  [ "$s" = bootstrap ] && kernel_files
  log "step $s done in $(( $(date +%s) - t ))s"
done
log "built $OUT/disk.raw ($(du -h --apparent-size "$OUT/disk.raw" | cut -f1) raw, $(du -h "$OUT/disk.raw" | cut -f1) allocated) and $OUT/disk.qcow2 ($(du -h "$OUT/disk.qcow2" | cut -f1))"
exit 0
}
