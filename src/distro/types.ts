/** A distribution: small typed data; Ubuntu is Debian plus a few differences. */
export interface Distro {
  /** The name profiles and --distro use; spelled only in the descriptor (see ./index.ts). */
  readonly name: string;
  readonly family: 'debian' | 'ubuntu';
  readonly suite: string;
  /** The main archive: the release suite and its updates suites. */
  readonly mirror: string;
  readonly components: readonly string[];
  /** Extra suites on the same mirror (updates), and security (may be another mirror). */
  readonly updatesSuites: readonly string[];
  readonly security: { readonly mirror: string; readonly suite: string };
  /**
   * Where suites other than the release suite come from when a site mirror map moved them
   * (suite -> URL; set by getDistro, never by a descriptor). Absent: the descriptor's places.
   */
  readonly mirrors?: Readonly<Record<string, string>>;
  /** Keyring that verifies the archive, on the host. */
  readonly keyring: string;
  /** Where to get the keyring when it is missing. */
  readonly keyringHint: string;
  /**
   * How ib-native obtains the keyring itself when the host lacks it (src/keys/archive-keyring.ts):
   * from this package of the archive, trusting only the keys pinned here.
   */
  readonly archiveKeyring?: ArchiveKeyring;
  readonly kernelPackages: readonly string[];
  /** Kernel headers (for DKMS). */
  readonly headersPackages: readonly string[];
  /** Packages every image needs to boot as a live ISO and as a disk. */
  readonly bootPackages: readonly string[];
  /** Packages that provide systemd-resolved ([] where the systemd package has it, as on focal). */
  readonly resolvedPackages: readonly string[];
  /** apt >= 2.4 reads ASCII-armored keys in signed-by; older needs a binary keyring. */
  readonly aptReadsArmoredKeys: boolean;
  /**
   * The debootstrap script (a name under /usr/share/debootstrap/scripts) when the host's
   * debootstrap may not know the suite yet (noble on Debian 12): the family's generic script.
   */
  readonly debootstrapScript?: string;
  readonly arch: 'amd64';
  /**
   * The distribution's signed UEFI boot chain (shim signed by the UEFI CA, its own signed GRUB, its
   * signed kernel), taken from the image's own packages. Absent: no signed chain (Secure Boot refused).
   */
  readonly signedChain?: SignedBootChain;
}

/** Where a distribution's signed boot chain lives in its packages, and how its GRUB finds grub.cfg. */
export interface SignedBootChain {
  /** Packages that carry the signed binaries (installed in the image: the node keeps them updated). */
  readonly packages: readonly string[];
  /** Folder of the ESP the distro installs into, EFI/<vendor>: its signed GRUB's prefix, where it reads grub.cfg. */
  readonly vendor: string;
  /** shim signed by the Microsoft UEFI CA, in the image. */
  readonly shim: string;
  /** MokManager, signed by the distro (shim starts it to enrol keys). */
  readonly mokManager: string;
  /** The signed GRUB for disks (prefix /EFI/<vendor>). */
  readonly grub: string;
  /** The signed GRUB for CDs (prefix /boot/grub of the medium, found by /.disk/info). */
  readonly grubCd: string;
  /** Whether the signed GRUB has the serial terminal built in (no module can be loaded under Secure Boot). */
  readonly grubSerial: boolean;
  /** Kernel packages known to hold an unsigned kernel (a profile adding one cannot boot under Secure Boot). */
  readonly unsignedKernel: RegExp;
}

/** The archive's own keyring package and the signing keys it must hold. */
export interface ArchiveKeyring {
  /** Package in the archive that ships the keyring, e.g. ubuntu-keyring. */
  readonly package: string;
  /** Component of the archive holding it. */
  readonly component: string;
  /** Path of the keyring inside the package. */
  readonly file: string;
  /** Primary fingerprints (40 hex digits, upper case) of the archive signing keys: the only keys kept. */
  readonly fingerprints: readonly string[];
}

/** One apt source, rendered as deb822 by renderDeb822 (./index.ts). */
export interface AptSource {
  readonly name: string;
  readonly uris: string;
  /** Suite names, or one exact path ending in "/" for a flat repo (pkgs.k8s.io: "/"). */
  readonly suites: readonly string[];
  /** Empty for a flat repo, at least one otherwise. */
  readonly components: readonly string[];
  /** Path inside the image of the key that signs it, or undefined for trusted=yes. */
  readonly signedBy?: string;
  readonly trusted?: boolean;
}
