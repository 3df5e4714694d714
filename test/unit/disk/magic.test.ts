import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { imageKindOfExtension, imageKindOfHead, MAGIC_BYTES } from '../../../src/disk/magic.ts';

const head = (writes: [number, string][]) => {
  const b = Buffer.alloc(MAGIC_BYTES);
  for (const [at, text] of writes) b.write(text, at, 'latin1');
  return b;
};

test('imageKindOfHead: each format by its magic; a hybrid ISO is an ISO, not a raw disk', () => {
  assert.is(imageKindOfHead(head([[0, 'QFI\xfb']])), 'qcow2');
  assert.is(imageKindOfHead(head([[0, 'KDMV']])), 'vmdk');
  assert.is(imageKindOfHead(head([[0, 'vhdxfile']])), 'vhdx');
  assert.is(imageKindOfHead(head([[512, 'EFI PART']])), 'raw');
  assert.is(imageKindOfHead(head([[510, '\x55\xaa']])), 'raw');
  assert.is(imageKindOfHead(head([[0x8001, 'CD001']])), 'iso');
  assert.is(
    imageKindOfHead(
      head([
        [510, '\x55\xaa'],
        [512, 'EFI PART'],
        [0x8001, 'CD001'],
      ]),
    ),
    'iso',
  );
  assert.is(imageKindOfHead(Buffer.alloc(4096)), undefined);
  assert.is(imageKindOfHead(Buffer.alloc(0)), undefined);
  assert.is(imageKindOfExtension('.IMG'), 'raw');
  assert.is(imageKindOfExtension('.vhdx'), 'vhdx');
  assert.is(imageKindOfExtension('.tar'), undefined);
});

test.run();
