#!/bin/sh
# ib-native: installed in the image as /etc/initramfs-tools/hooks/ib-native-fsck (the rootfs stage
# writes it before making the initramfs). initramfs-tools' own fsck hook finds the root
# filesystem's type by probing the root device, which a tree built in a chroot does not have: it
# leaves fsck out, and every boot says "fsck not present, so skipping root file system". This hook
# puts fsck and the checkers of the filesystems an image's root can have into the initramfs, so
# the root filesystem is checked before it is mounted.
PREREQ=""
prereqs() { echo "$PREREQ"; }
case "$1" in
prereqs)
  prereqs
  exit 0
  ;;
esac
. /usr/share/initramfs-tools/hook-functions
[ -x /sbin/fsck ] || exit 0
copy_exec /sbin/fsck
[ -x /sbin/logsave ] && copy_exec /sbin/logsave
for type in ext4 xfs; do
  if prog=$(command -v "fsck.$type"); then copy_exec "$prog"; fi
done
exit 0
