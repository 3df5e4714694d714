/** `ib-native inspect IMAGE`: what a produced image holds, read offline. */
import { formatBytes } from '../doctor.ts';
import { describeSignatures } from '../inspect/authenticode.ts';
import { type BootChainEntry, chainOf } from '../inspect/boot-chain.ts';
import { type ImageReport, inspectImage } from '../inspect/image.ts';
import { GPT_CODES } from '../inspect/parsers.ts';
import { consoleLogger } from '../log.ts';
import { processRunner } from '../run/runner.ts';
import { writeOut } from './output.ts';

const modeText = (type: string, mode: number) =>
  `${type === 'f' ? '-' : type}${mode.toString(8).padStart(4, '0')}`;

const described = (e: BootChainEntry) => (e.kind === 'config' ? 'GRUB configuration' : describeSignatures(e));

/** The boot chain: one line of what the firmware runs in turn, then every file found (pure). */
export function formatBootChain(entries: readonly BootChainEntry[]): string[] {
  const chain = chainOf(entries);
  const head = !entries.length
    ? 'no EFI system partition or kernel found'
    : chain.length
      ? chain.map((e) => `${e.path} ${described(e)}`).join(' → ')
      : 'no EFI/BOOT/BOOTX64.EFI on an EFI system partition';
  const width = Math.max(0, ...entries.map((e) => e.path.length));
  return [
    `boot chain (UEFI): ${head}`,
    ...entries.map((e) => `  ${e.path.padEnd(width)} ${formatBytes(e.bytes).padStart(10)}  ${described(e)}`),
  ];
}

/** The report as text (pure). Without --cat or --ls: every section; with them: only what they ask. */
export function formatReport(r: ImageReport, only = false): string {
  const out: string[] = [];
  if (!only) {
    out.push(
      `image     ${r.image.path} (${r.image.format}, ${formatBytes(r.image.bytes)}${r.image.virtualBytes ? `, ${formatBytes(r.image.virtualBytes)} virtual` : ''})`,
    );
    const m = r.manifest;
    if (!m) out.push('manifest  none beside the image');
    else if (m.error) out.push(`manifest  ${m.file}: unreadable (${m.error})`);
    else {
      out.push(
        `manifest  ${m.file}`,
        `          profile ${m.profile ?? '?'}, ${m.distro ?? '?'}, kernel ${m.kernel ?? '?'}, built ${m.builtAt ?? '?'}, rootfs ${m.rootfsKey ?? '?'}`,
        m.sha256 === undefined
          ? '          (it records no checksum for this image)'
          : m.matches
            ? `          sha256 ${m.sha256} matches the image`
            : `          sha256 ${m.sha256} does NOT match the image: the manifest is of another build`,
      );
    }
    out.push('', `boot menu (${r.boot.config}):`);
    if (!r.boot.entries.length) out.push('  (no grub.cfg menu entry found)');
    for (const e of r.boot.entries) out.push(`  ${e.title}: linux ${e.kernel}`, `    ${e.cmdline.join(' ')}`);
    out.push('', ...formatBootChain(r.bootChain));
    if (r.disk) {
      out.push(
        '',
        `partitions (GPT ${r.disk.guid}, ${r.disk.sectors} sectors of ${r.disk.sectorSize} bytes):`,
        '  #  first       last        size       type                  name     filesystem  uuid                                  mounted at',
      );
      for (const p of r.disk.partitions)
        out.push(
          `  ${String(p.number).padEnd(2)} ${String(p.firstSector).padEnd(11)} ${String(p.lastSector).padEnd(11)} ${formatBytes(p.bytes).padEnd(10)} ${`${p.code} ${GPT_CODES[p.code] ?? ''}`.trim().padEnd(21)} ${p.name.padEnd(8)} ${(p.filesystem ?? '-').padEnd(11)} ${(p.uuid ?? '-').padEnd(37)} ${p.mountpoint ?? '-'}`,
        );
    }
    if (r.layers) {
      out.push('', 'live filesystem layers (bottom first, later ones win):');
      for (const l of r.layers)
        out.push(
          `  ${l.name.padEnd(26)} ${formatBytes(l.bytes).padStart(10)}  ${l.entries} entries, ${l.whiteouts} deletions${l.opaque.length ? `, opaque: ${l.opaque.join(' ')}` : ''}`,
        );
    }
    out.push('', `packages (${r.packages.length} installed):`);
    for (const p of r.packages) out.push(`  ${p.name} ${p.version} ${p.architecture}`);
  }
  for (const l of r.listings) {
    if (out.length) out.push('');
    out.push(`${l.path}${l.resolved !== l.path ? ` (${l.resolved})` : ''}:`);
    for (const e of l.entries)
      out.push(
        `  ${modeText(e.type, e.mode)} ${`${e.uid}:${e.gid}`.padEnd(9)} ${String(e.size).padStart(10)}  ${e.name}${e.target ? ` -> ${e.target}` : ''}`,
      );
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/** JSON form: file contents as text when they are UTF-8, base64 otherwise. */
export function reportJson(r: ImageReport): unknown {
  return {
    ...r,
    files: r.files.map((f) => {
      const text = f.content.toString('utf8');
      const isText = Buffer.from(text, 'utf8').equals(f.content);
      return {
        path: f.path,
        resolved: f.resolved,
        bytes: f.content.length,
        ...(isText ? { content: text } : { base64: f.content.toString('base64') }),
      };
    }),
  };
}

export async function inspectCommand(o: {
  image: string;
  cat: string[];
  ls: string[];
  json: boolean;
  verbose: boolean;
}): Promise<number> {
  const runner = processRunner({ logger: consoleLogger({ verbose: o.verbose }) });
  const only = o.cat.length > 0 || o.ls.length > 0;
  // the checksum and the boot chain are only shown in the summary and the JSON
  const r = await inspectImage(runner, o.image, {
    cat: o.cat,
    ls: o.ls,
    verify: o.json || !only,
    bootChain: o.json || !only,
  });
  if (o.json) {
    await writeOut(`${JSON.stringify(reportJson(r), null, 2)}\n`);
    return 0;
  }
  await writeOut(formatReport(r, only));
  // --cat prints the bytes as they are; with several files, each after a `==> path <==` line
  for (const f of r.files) {
    if (r.files.length > 1 || r.listings.length) await writeOut(`==> ${f.path} <==\n`);
    await writeOut(f.content);
  }
  return 0;
}
