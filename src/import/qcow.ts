import {
  asMapping,
  Collector,
  diskSizeOf,
  isObj,
  keyedChange,
  type MapOptions,
  type MapResult,
  partedSizeOf,
  problemOf,
  resolveTemplates,
  show,
  unknownKeys,
  type Vars,
} from './values.ts';

/**
 * qcow-vars.yaml and rootfs/livecdcontent-vars.yaml -> profile fragments (pure).
 *
 * Facts of the original (roles/qcow and roles/livecdcontent):
 * - `qcow_capacity` (19G) goes to `qemu-img create`; `qcow_compress` picks `qemu-img convert -c`;
 * - `partitions` entries (`mount` or none, `mount_order`, `part_start`/`part_end` handed to parted's
 *   mkpart, `flags`, `filesystem.type`, `filesystem.fstab.{options,dump,fsck}`) are numbered in list
 *   order (the root first, for Ironic's config drive); a `mount: none` partition gets no filesystem;
 *   mounts happen in `mount_order`;
 * - `img_name` is overridden by the Makefile (`<entry>.qcow2`); `qcow_container_runtime_scripts` is
 *   declared in the role defaults but no task runs it;
 * - livecdcontent: `mksquashfs_compression` (lz4), `mksquashfs_threads` (one per CPU),
 *   `squashfs_timeout`, `grub_menu_timeout` (0).
 */

const QCOW_VARS = [
  'src',
  'dst',
  'nbd_build_dir',
  'img_output_dir',
  'img_name',
  'qcow_capacity',
  'qcow_compress',
  'partitions',
  'qcow_container_runtime_scripts',
];
const PARTITION_KEYS = ['mount', 'mount_order', 'part_start', 'part_end', 'flags', 'filesystem'];
const FLAGS = ['esp', 'bios_grub', 'boot', 'legacy_boot'];
const FILESYSTEMS = ['ext4', 'xfs', 'vfat'];

function partitionName(mount: string, flags: readonly string[], i: number): string {
  if (mount === '/') return 'root';
  if (mount === '/boot/efi') return 'efi';
  if (mount === 'none') return flags.includes('bios_grub') ? 'bios' : `part${i + 1}`;
  return (
    mount
      .split('/')
      .filter(Boolean)
      .join('-')
      .replace(/[^A-Za-z0-9_.@+-]/g, '-') || `part${i + 1}`
  );
}

function mapPartition(p: unknown, i: number, c: Collector): Vars | undefined {
  const at = `partitions[${i}]`;
  if (!isObj(p)) return void c.skip(at, `${show(p)} is not a partition mapping`);
  unknownKeys(p, PARTITION_KEYS, at, c, 'not a partition setting of the original qcow role');
  const mount = typeof p.mount === 'string' ? p.mount : undefined;
  if (!mount || (mount !== 'none' && !mount.startsWith('/')))
    return void c.skip(at, `mount ${show(p.mount)} is neither an absolute path nor none`);
  const start = partedSizeOf(p.part_start);
  const end = partedSizeOf(p.part_end);
  if (!start || !end)
    return void c.skip(
      at,
      `part_start ${show(p.part_start)} / part_end ${show(p.part_end)}: not a size ib-native can place`,
    );
  const flags: string[] = [];
  for (const f of Array.isArray(p.flags) ? p.flags : p.flags === undefined ? [] : [p.flags])
    if (FLAGS.includes(String(f))) flags.push(String(f));
    else c.skip(`${at}.flags`, `flag ${show(f)}: ib-native supports ${FLAGS.join(', ')}`);
  const part: Vars = { name: partitionName(mount, flags, i) };
  if (mount === 'none') {
    // the original makes and mounts no filesystem on a `mount: none` partition
    Object.assign(part, { filesystem: 'none', start, end, flags });
    return part;
  }
  const fs = isObj(p.filesystem) ? p.filesystem : {};
  unknownKeys(
    fs,
    ['type', 'fstab'],
    `${at}.filesystem`,
    c,
    'not a filesystem setting of the original qcow role',
  );
  if (!FILESYSTEMS.includes(String(fs.type)))
    return void c.skip(at, `filesystem type ${show(fs.type)}: ib-native makes ${FILESYSTEMS.join(', ')}`);
  Object.assign(part, { mountpoint: mount, filesystem: fs.type, start, end, flags });
  const fstab = isObj(fs.fstab) ? fs.fstab : {};
  unknownKeys(fstab, ['options', 'dump', 'fsck'], `${at}.filesystem.fstab`, c, 'not an fstab setting');
  if (typeof fstab.options === 'string') part.fstabOptions = fstab.options;
  if (fstab.dump !== undefined && Number(fstab.dump) !== 0)
    c.skip(`${at}.filesystem.fstab.dump`, `${show(fstab.dump)}: ib-native writes dump 0`);
  if (fstab.fsck !== undefined) part.fsckPass = Number(fstab.fsck);
  const problem = problemOf({ disk: { partitions: [part] } });
  if (problem) return void c.skip(at, problem);
  return part;
}

/** `mount_order` only has to mount parents before children, which is how ib-native mounts; flag orders that did not. */
function checkMountOrder(parts: unknown[], c: Collector): void {
  const mounted = parts.filter(isObj).filter((p) => typeof p.mount === 'string' && p.mount !== 'none');
  // without a mount_order on every entry the original could not sort them (and we have no order to check)
  if (mounted.some((p) => typeof p.mount_order !== 'number')) return;
  const mounts = mounted
    .sort((a, b) => Number(a.mount_order) - Number(b.mount_order))
    .map((p) => String(p.mount));
  mounts.forEach((m, i) => {
    const parent = mounts.slice(i + 1).find((x) => x === '/' || m.startsWith(`${x}/`));
    if (parent)
      c.skip('partitions', `mount_order mounts ${m} before ${parent}; ib-native always mounts parents first`);
  });
}

export function mapQcowVars(obj: unknown, opts: MapOptions = {}): MapResult {
  const c = new Collector();
  const raw = asMapping(obj, c);
  if (!raw) return c.result();
  const v = resolveTemplates(raw, raw) as Vars;
  unknownKeys(v, QCOW_VARS, '', c, "not a variable of image-builder's qcow role, which ignores it");
  for (const k of ['src', 'dst', 'nbd_build_dir', 'img_output_dir'])
    if (v[k] !== undefined) c.skip(k, 'a build-internal path of the original; not applicable');
  if (v.img_name !== undefined)
    c.skip(
      'img_name',
      "image-builder's Makefile overrode it with <entry>.qcow2; ib-native names the image after the profile",
    );
  if (v.qcow_capacity !== undefined) {
    const size = diskSizeOf(v.qcow_capacity);
    if (size && !problemOf({ disk: { size } })) c.set('disk.size', size);
    else c.skip('qcow_capacity', `${show(v.qcow_capacity)} is not a size such as 19G`);
  }
  if (v.qcow_compress !== undefined) {
    if (typeof v.qcow_compress === 'boolean') c.set('qcow2.compress', v.qcow_compress);
    else c.skip('qcow_compress', `${show(v.qcow_compress)} is not true or false`);
  }
  if (v.qcow_container_runtime_scripts !== undefined)
    c.skip(
      'qcow_container_runtime_scripts',
      "declared by image-builder's qcow role but run by none of its tasks; to run such scripts, give them as user_scripts with run_contexts [qcow] (userScripts with contexts ['disk'])",
    );
  if (v.partitions !== undefined) {
    if (!Array.isArray(v.partitions)) c.skip('partitions', `${show(v.partitions)} is not a list`);
    else {
      checkMountOrder(v.partitions, c);
      const mapped = v.partitions.map((p, i) => mapPartition(p, i, c));
      let parts = mapped.filter((p): p is Vars => p !== undefined);
      // a partition that could not be imported leaves the inherited one of its name in place
      const keep = v.partitions.flatMap((p, i) =>
        !mapped[i] && isObj(p) && typeof p.mount === 'string'
          ? [partitionName(p.mount, Array.isArray(p.flags) ? p.flags.map(String) : [], i)]
          : [],
      );
      const seen = new Set<string>();
      for (const p of parts) {
        let n = String(p.name);
        for (let k = 2; seen.has(n); k++) n = `${p.name}${k}`;
        p.name = n;
        seen.add(n);
      }
      const inherited = (opts.inherited?.disk?.partitions ?? []) as Vars[];
      let ch = keyedChange(parts, inherited, 'name', keep);
      const names = parts.map((p) => String(p.name));
      // partitions are numbered in list order; merging keeps inherited positions, so a new order needs new names
      if (ch.order.filter((n) => names.includes(n)).join() !== names.join()) {
        const taken = new Set(inherited.map((p) => String(p.name)));
        parts = parts.map((p, i) => {
          let n = `${p.name}-${i + 1}`;
          while (taken.has(n)) n = `${n}x`;
          return { ...p, name: n };
        });
        ch = keyedChange(parts, inherited, 'name', keep);
      }
      if (ch.add.length) c.set('disk.partitions', ch.add);
      c.remove('disk.partitions', ch.remove);
    }
  }
  return c.result();
}

// ---------------------------------------------------------------------------------------------
// livecdcontent-vars.yaml (rootfs): the ISO's squashfs

const LIVECD_VARS = [
  'root_chroot',
  'root_image',
  'mksquashfs_compression',
  'mksquashfs_threads',
  'squashfs_timeout',
  'grub_menu_timeout',
];

export function mapLivecdcontentVars(obj: unknown): MapResult {
  const c = new Collector();
  const v = asMapping(obj, c);
  if (!v) return c.result();
  unknownKeys(
    v,
    LIVECD_VARS,
    '',
    c,
    "not a variable of image-builder's livecdcontent role, which ignores it",
  );
  for (const k of ['root_chroot', 'root_image'])
    if (v[k] !== undefined) c.skip(k, 'a build-internal path of the original; not applicable');
  if (v.mksquashfs_compression !== undefined) {
    if (problemOf({ iso: { compression: v.mksquashfs_compression } }))
      c.skip(
        'mksquashfs_compression',
        `${show(v.mksquashfs_compression)}: ib-native offers gzip, lz4, lzo, xz, zstd`,
      );
    else c.set('iso.compression', v.mksquashfs_compression);
  }
  // the default "{{ ansible_processor_vcpus }}" is ib-native's default too (one thread per CPU)
  const threads = v.mksquashfs_threads;
  if (threads !== undefined && !/ansible_processor_vcpus/.test(String(threads))) {
    if (Number.isInteger(Number(threads)) && Number(threads) > 0) c.set('iso.threads', Number(threads));
    else c.skip('mksquashfs_threads', `${show(threads)} is not a thread count`);
  }
  if (v.squashfs_timeout !== undefined)
    c.skip('squashfs_timeout', 'ib-native runs mksquashfs with its own timeout and retry policy');
  if (v.grub_menu_timeout !== undefined && Number(v.grub_menu_timeout) !== 0)
    c.skip('grub_menu_timeout', `${show(v.grub_menu_timeout)}: the ISO's boot menu timeout is fixed at 0`);
  return c.result();
}
