import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debianBookworm } from '../../../src/distro/debian.ts';
import { ubuntuFocal } from '../../../src/distro/ubuntu.ts';
import { secureBootChain, secureBootModule, secureBootWarnings } from '../../../src/modules/secure-boot.ts';
import { profile } from './helpers.ts';

test('secureBootChain: on by default where the distro ships a signed chain; off when asked', () => {
  assert.is(secureBootChain(profile({ distro: 'debian-bookworm' })), debianBookworm.signedChain);
  assert.is(secureBootChain(profile({ distro: 'ubuntu-focal' })), ubuntuFocal.signedChain);
  assert.is(
    secureBootChain(profile({ distro: 'debian-bookworm', secureBoot: true })),
    debianBookworm.signedChain,
  );
  assert.is(secureBootChain(profile({ distro: 'debian-bookworm', secureBoot: false })), undefined);
  assert.equal(secureBootModule.packages!(profile({ distro: 'ubuntu-focal' })), [
    'shim-signed',
    'grub-efi-amd64-signed',
  ]);
  assert.equal(secureBootModule.packages!(profile({ secureBoot: false })), []);
});

test('secureBootChain: an unsigned kernel turns the default off; asking for Secure Boot with one is an issue on kernel.packages', () => {
  const debianUnsigned = {
    distro: 'debian-bookworm' as const,
    kernel: { packages: ['linux-image-6.1.0-50-amd64-unsigned'] },
  };
  assert.is(secureBootChain(profile(debianUnsigned)), undefined);
  assert.equal(secureBootModule.validate!(profile(debianUnsigned)), []);
  const issues = secureBootModule.validate!(profile({ ...debianUnsigned, secureBoot: true }));
  assert.is(issues.length, 1);
  assert.is(issues[0]!.path, 'kernel.packages');
  assert.match(
    issues[0]!.message,
    /linux-image-6\.1\.0-50-amd64-unsigned is an unsigned kernel.*secureBoot: false/,
  );
  const focal = profile({
    distro: 'ubuntu-focal',
    secureBoot: true,
    kernel: { packages: ['linux-image-unsigned-5.4.0-216-generic=5.4.0-216.236'] },
  });
  assert.match(
    secureBootModule.validate!(focal)[0]!.message,
    /^linux-image-unsigned-5\.4\.0-216-generic is an unsigned kernel/,
  );
  // a signed extra kernel is fine
  assert.equal(
    secureBootModule.validate!(
      profile({
        distro: 'ubuntu-focal',
        secureBoot: true,
        kernel: { packages: ['linux-image-5.4.0-216-generic'] },
      }),
    ),
    [],
  );
});

test('secureBootWarnings: DKMS modules with Secure Boot on are named, with what to do', () => {
  const dkms = [{ name: 'i40e', version: '2.22.18', source: '/src/i40e' }];
  const [w, ...rest] = secureBootWarnings(profile({ distro: 'debian-bookworm', dkms }));
  assert.is(rest.length, 0);
  assert.match(w!, /secureBoot is on and the profile builds DKMS modules \(i40e\)/);
  assert.match(w!, /secureBoot: false/);
  assert.equal(secureBootWarnings(profile({ distro: 'debian-bookworm', secureBoot: false, dkms })), []);
  assert.equal(secureBootWarnings(profile({ distro: 'debian-bookworm' })), []);
});

test.run();
