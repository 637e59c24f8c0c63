#!/bin/bash
# Builds Tern's Linux test guest and caches it outside the checkout:
#   vmlinux         Linux 6.1 (Debian linux-source-6.1 + pvm-guest.patch,
#                   tinyconfig + kernel.config) as an ELF with a PVH entry note
#   bzImage         the same kernel with the standard x86 boot protocol
#   initramfs.cpio  uncompressed newc archive: Debian's busybox-static as
#                   /bin/busybox, applet symlinks in /bin, /etc/fstab, and
#                   ./init as /init
#   cmdline.txt     the base kernel command line (from guest-cmdline.txt)
#   System.map, config, inputs.txt, kernel.key, build.log   for debugging
#
# Usage: tests/linux/build.sh [--print-dir] [--force]
#   Builds the entry unless it is already cached, then prints its directory
#   on stdout.  --print-dir prints only that (no "cached" note on stderr);
#   --force rebuilds everything and atomically replaces an existing entry.
#   Needs root only to apt-get install missing packages, and for the default
#   cache directory.
#
# Cache layout: ${TERN_LINUX_CACHE:-/var/cache/tern/linux}/<hash>/ where
# <hash> is the sha256 of inputs.txt: the sha256 of this script, init,
# kernel.config, pvm-guest.patch and guest-cmdline.txt, and the versions of
# linux-source-6.1, busybox-static and gcc.  An entry is complete once it
# holds .done, which is written last into a temporary directory beside it
# that is then renamed into place; readers that see no .done build it under
# <cache>/.lock, so concurrent callers build once and an interrupted build
# leaves at most a .tmp.* directory that the next build removes.  Entries
# are never changed once complete.  kernel.key hashes the kernel's share of
# the inputs: a new entry whose kernel inputs match a complete entry's
# copies that kernel instead of rebuilding it (an edit of init costs seconds,
# not minutes).
#
# Progress goes to stderr; the output of tar, patch and make goes to
# build.log, whose tail is printed if a step fails (the whole log is kept as
# <cache>/<hash>.failed.log).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly CACHE_ROOT=${TERN_LINUX_CACHE:-/var/cache/tern/linux}
readonly SOURCE_PKG=linux-source-6.1
readonly BUSYBOX_PKG=busybox-static
# Everything the build runs, by Debian package.
readonly PACKAGES=("$SOURCE_PKG" "$BUSYBOX_PKG" gcc make libc6-dev binutils
	flex bison bc libelf-dev lz4 xz-utils patch util-linux)
# Applets that get a /bin symlink.  Debian's busybox-static runs any applet
# from its shell without one; the links are for exec() from other programs.
readonly APPLETS=(sh ash cat cmp cp cut date dd dmesg echo env false find
	free grep halt head hexdump ip kill ln ls md5sum mkdir mknod mount mv od
	poweroff printf ps reboot rm sed seq sha256sum sleep sort stat sync tail
	tee test touch tr true umount uname wc xargs)
# Fixed build identity, so that rebuilding the same inputs gives the same
# bytes (the timestamp must parse with date -d: it also dates the kernel's
# built-in initramfs).
readonly KBUILD_ENV=(KBUILD_BUILD_USER=tern KBUILD_BUILD_HOST=tern
	KBUILD_BUILD_VERSION=1 "KBUILD_BUILD_TIMESTAMP=2000-01-01 00:00:00 UTC")

log() {
	printf 'tern-linux: [%4ds] %s\n' "$SECONDS" "$*" >&2
}

die() {
	log "error: $*"
	exit 1
}

# Runs "$@" with its output appended to $BUILD_LOG; on failure shows the tail.
# It runs in the background so that a signal to this script is handled at
# once (bash defers traps until a foreground child exits), see on_signal.
run_logged() {
	"$@" >>"$BUILD_LOG" 2>&1 </dev/null &
	CHILD=$!
	if ! wait "$CHILD"; then
		CHILD=
		log "failed: $*"
		tail -n 40 "$BUILD_LOG" | sed 's/^/    | /' >&2
		return 1
	fi
	CHILD=
}

# Stops the running step before the EXIT trap removes its directory.
on_signal() {
	if [[ -n ${CHILD:-} ]]; then
		kill "$CHILD" 2>/dev/null || true
		wait "$CHILD" 2>/dev/null || true
	fi
	log "interrupted"
	exit "$1"
}

pkg_version() {
	dpkg-query -W -f='${Version}' "$1"
}

packages_ensure() {
	local missing=() installed
	command -v dpkg-query >/dev/null || die "needs a Debian host (dpkg-query)"
	installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" \
		2>/dev/null | sed -n 's/ install ok installed$//p' | sed 's/:.*//') || true
	mapfile -t missing < <(printf '%s\n' "${PACKAGES[@]}" | grep -vxF "$installed")
	((${#missing[@]})) || return 0
	((EUID == 0)) || die "missing packages (run as root or install): ${missing[*]}"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
		apt-get update >&2
		apt-get install -y --no-install-recommends "${missing[@]}" >&2
	fi
}

# Prints "name sha256" for each file of this directory named in "$@".
files_hash() {
	local f
	for f in "$@"; do
		echo "$f $(sha256sum <"$HERE/$f" | cut -d' ' -f1)"
	done
}

# Prints the inputs of the kernel build, one per line.
kernel_inputs() {
	echo "tern-linux-guest v1"
	files_hash build.sh kernel.config pvm-guest.patch
	echo "$SOURCE_PKG $(pkg_version "$SOURCE_PKG")"
	echo "gcc $(gcc --version | sed -n 1p)"
}

# Prints every input of the build, one per line; the cache key hashes this.
inputs_list() {
	kernel_inputs
	files_hash init guest-cmdline.txt memtest.c
	echo "$BUSYBOX_PKG $(pkg_version "$BUSYBOX_PKG")"
}

sha256_of() {
	printf '%s\n' "$1" | sha256sum | cut -d' ' -f1
}

# Prints the path of a file that package $1 installs, matching regex $2.
pkg_file() {
	local path
	path=$(dpkg-query -L "$1" | grep -E "$2" | sed -n 1p) ||
		die "package $1 has no file matching $2"
	printf '%s\n' "$path"
}

# Prints how option $1 ended up in .config $2.
config_state() {
	grep -E -m1 "^(# )?$1[= ]" "$2" || echo "absent (dependencies not met)"
}

# Fails naming every CONFIG_ line of fragment $1 that .config $2 lost.
config_verify() {
	local line opt lost=()
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)= ]]; then
			opt=${BASH_REMATCH[1]}
			grep -qxF -- "$line" "$2" ||
				lost+=("$line    now: $(config_state "$opt" "$2")")
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			opt=${BASH_REMATCH[1]}
			! grep -q "^$opt=" "$2" ||
				lost+=("$line    now: $(config_state "$opt" "$2")")
		fi
	done <"$1"
	((${#lost[@]} == 0)) && return 0
	log "kernel.config options that did not survive make olddefconfig:"
	printf '    %s\n' "${lost[@]}" >&2
	return 1
}

source_tarball() {
	pkg_file "$SOURCE_PKG" "/$SOURCE_PKG\\.tar\\.(xz|bz2|gz)$"
}

# Unpacks and patches the kernel source into directory $1.
kernel_unpack() {
	local tarball
	tarball=$(source_tarball)
	log "unpacking $tarball"
	mkdir "$1"
	run_logged tar -xf "$tarball" -C "$1" --strip-components=1
	log "applying pvm-guest.patch"
	run_logged patch -p1 -d "$1" -i "$HERE/pvm-guest.patch"
}

# Prints a complete cache entry whose kernel was built from inputs with
# sha256 $1, so that a change to /init alone does not rebuild the kernel.
kernel_find() {
	local key=$1 dir
	for dir in "$CACHE_ROOT"/*/; do
		[[ -f $dir.done && $(cat "${dir}kernel.key" 2>/dev/null) == "$key" ]] &&
			echo "${dir%/}" && return 0
	done
	return 1
}

# Copies the kernel from entry $1 into $3; unpacks into tree $2 only the
# one source file the initramfs build needs.
kernel_reuse() {
	local from=$1 src=$2 out=$3 tarball
	log "reusing the kernel of $from"
	cp "$from"/{vmlinux,bzImage,System.map,config} "$out/"
	tarball=$(source_tarball)
	mkdir "$src"
	run_logged tar -xf "$tarball" -C "$src" --strip-components=1 \
		--occurrence=1 "$SOURCE_PKG/usr/gen_init_cpio.c"
}

# Configures and builds the kernel in source tree $1, copies it to $2.
kernel_build() {
	local src=$1 out=$2 start=$SECONDS
	log "configuring: tinyconfig + kernel.config"
	run_logged make -C "$src" "${KBUILD_ENV[@]}" tinyconfig
	run_logged "$src/scripts/kconfig/merge_config.sh" -m -O "$src" \
		"$src/.config" "$HERE/kernel.config"
	run_logged make -C "$src" "${KBUILD_ENV[@]}" olddefconfig
	config_verify "$HERE/kernel.config" "$src/.config"
	log "building vmlinux bzImage with make -j$(nproc) (minutes)"
	run_logged make -C "$src" "${KBUILD_ENV[@]}" -j"$(nproc)" vmlinux bzImage
	cp "$src/vmlinux" "$src/arch/x86/boot/bzImage" "$src/System.map" "$out/"
	cp "$src/.config" "$out/config"
	log "kernel built in $((SECONDS - start))s"
}

# Prints the gen_init_cpio list of the initramfs; its files are in $1.
# /dev/console must exist before /init runs: Linux opens it for init's
# stdin, stdout and stderr before devtmpfs is mounted over /dev.
initramfs_list() {
	local files=$1 applet
	printf '%s\n' 'dir /bin 0755 0 0' 'dir /dev 0755 0 0' 'dir /etc 0755 0 0' \
		'dir /proc 0555 0 0' 'dir /sys 0555 0 0' 'dir /tmp 1777 0 0' \
		'nod /dev/console 0600 0 0 c 5 1' 'nod /dev/null 0666 0 0 c 1 3'
	echo "file /init $files/init 0755 0 0"
	echo "file /etc/fstab $files/fstab 0644 0 0"
	echo "file /bin/busybox $files/busybox 0755 0 0"
	echo "file /bin/memtest $files/memtest 0755 0 0"
	for applet in "${APPLETS[@]}"; do
		echo "slink /bin/$applet busybox 0777 0 0"
	done
}

# Builds initramfs.cpio into $2 with the kernel's gen_init_cpio from tree $1;
# $3 is a scratch directory.
initramfs_build() {
	local src=$1 out=$2 work=$3 busybox have applet
	busybox=$(pkg_file "$BUSYBOX_PKG" '/busybox$')
	have=$("$busybox" --list)
	for applet in "${APPLETS[@]}"; do
		grep -qxF -- "$applet" <<<"$have" || die "$busybox has no applet $applet"
	done
	log "packing initramfs.cpio ($busybox, init)"
	run_logged gcc -O2 -o "$work/gen_init_cpio" "$src/usr/gen_init_cpio.c"
	mkdir "$work/initramfs"
	cp "$HERE/init" "$busybox" "$work/initramfs/"
	run_logged gcc -O2 -static -o "$work/initramfs/memtest" "$HERE/memtest.c"
	# One `mount -a` in /init costs one fork+exec instead of three.
	printf '%s\n' 'proc /proc proc defaults 0 0' \
		'sysfs /sys sysfs defaults 0 0' \
		'devtmpfs /dev devtmpfs defaults 0 0' >"$work/initramfs/fstab"
	# Fixed mtimes (-t for the rest), so the archive depends only on inputs.
	touch -d @0 "$work/initramfs"/*
	initramfs_list "$work/initramfs" >"$work/initramfs.list"
	"$work/gen_init_cpio" -t 0 "$work/initramfs.list" >"$out/initramfs.cpio"
}

# Writes the non-comment lines of guest-cmdline.txt, joined, to $1.
cmdline_write() {
	local words
	words=$(grep -v '^#' "$HERE/guest-cmdline.txt" | tr -s '[:space:]' ' ')
	words=${words# }
	printf '%s\n' "${words% }" >"$1"
}

# Builds cache entry $1 (with inputs $2) in a temporary directory beside it;
# $3 = true: do not reuse the kernel of another entry.
entry_build() {
	local entry=$1 inputs=$2 force=$3 tmp key from
	tmp=$(mktemp -d "$CACHE_ROOT/.tmp.XXXXXX")
	BUILD_TMP=$tmp BUILD_ENTRY=$entry
	trap 'entry_build_exit $?' EXIT
	mkdir "$tmp/out"
	BUILD_LOG=$tmp/out/build.log
	printf '%s\n' "$inputs" >"$tmp/out/inputs.txt"
	key=$(sha256_of "$(kernel_inputs)")
	echo "$key" >"$tmp/out/kernel.key"
	if ! $force && from=$(kernel_find "$key"); then
		kernel_reuse "$from" "$tmp/src" "$tmp/out"
	else
		kernel_unpack "$tmp/src"
		kernel_build "$tmp/src" "$tmp/out"
	fi
	initramfs_build "$tmp/src" "$tmp/out" "$tmp"
	cmdline_write "$tmp/out/cmdline.txt"
	: >"$tmp/out/.done"
	# rename(2) cannot replace a directory: move an old entry (--force)
	# into $tmp, which the EXIT trap removes.
	[[ ! -e $entry ]] || mv -T "$entry" "$tmp/old"
	mv -T "$tmp/out" "$entry"
	log "built $entry"
}

# EXIT trap of entry_build: keeps the log of a failed build, removes the
# temporary directory ($BUILD_TMP) whatever happened.
entry_build_exit() {
	local status=$1
	if ((status != 0)) && [[ -s $BUILD_TMP/out/build.log ]]; then
		cp "$BUILD_TMP/out/build.log" "$BUILD_ENTRY.failed.log"
		log "full log: $BUILD_ENTRY.failed.log"
	fi
	rm -rf "$BUILD_TMP"
}

# Takes $CACHE_ROOT/.lock, saying so if another build holds it.
cache_lock() {
	exec {lock_fd}>"$CACHE_ROOT/.lock"
	flock -n "$lock_fd" && return 0
	log "waiting for another build.sh to finish"
	flock "$lock_fd"
}

main() {
	local print_dir=false force=false arg inputs hash entry
	for arg in "$@"; do
		case $arg in
		--print-dir) print_dir=true ;;
		--force) force=true ;;
		-h | --help) sed -n '2,/^set -e/s/^# \{0,1\}//p' "$0"; exit 0 ;;
		*) die "unknown argument $arg (see --help)" ;;
		esac
	done
	packages_ensure
	inputs=$(inputs_list)
	hash=$(sha256_of "$inputs")
	entry=$CACHE_ROOT/$hash
	if ! $force && [[ -f $entry/.done ]]; then
		$print_dir || log "cached: $entry"
		printf '%s\n' "$entry"
		return 0
	fi
	mkdir -p "$CACHE_ROOT" || die "cannot create $CACHE_ROOT (set TERN_LINUX_CACHE)"
	cache_lock
	# Under the lock no build is running: leftovers are from killed ones.
	rm -rf "$CACHE_ROOT"/.tmp.* "$entry.failed.log"
	if $force || [[ ! -f $entry/.done ]]; then
		log "building $entry"
		entry_build "$entry" "$inputs" "$force"
	fi
	printf '%s\n' "$entry"
}

trap 'on_signal 129' HUP
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
main "$@"
