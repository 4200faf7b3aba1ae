import t from 'tap';
import { encodeId } from '../../bus-schemas/ids.js';
import { adaptiveDifficulty } from '../../bus-schemas/admission/adaptive.js';
import { leadingZeroBits, solveHashcash, verifyHashcash } from '../../bus-schemas/admission/hashcash.js';
import { refuses } from '../helpers/refuses.js';

// Fixed keys so the outcome is deterministic (a random pair could collide with probability 2^-12).
const machine = encodeId('key', new Uint8Array(32).fill(1));
const other = encodeId('key', new Uint8Array(32).fill(2));

void t.test('a solved proof verifies and is bound to its machine and epoch', async (t) => {
  const proof = solveHashcash(machine, 100, 12);
  verifyHashcash(machine, proof, { epoch: 100, difficulty: 12 });
  verifyHashcash(machine, proof, { epoch: 101, difficulty: 12 }); // previous epoch still counts
  refuses(t, () => verifyHashcash(machine, proof, { epoch: 102, difficulty: 12 }), {
    code: 'HOLON_E_ADMISSION',
    reason: 'proof is for epoch 100, current epoch is 102',
  });
  refuses(t, () => verifyHashcash(machine, proof, { epoch: 100, difficulty: 13 }), {
    reason: 'proof difficulty 12 is below the required 13',
  });
  // Another machine cannot reuse it: the hash covers the machine key.
  refuses(t, () => verifyHashcash(other, proof, { epoch: 100, difficulty: 12 }), {
    reason: /leading zero bits, claims 12/,
  });
  refuses(t, () => verifyHashcash(machine, { ...proof, counter: -1 }, { epoch: 100, difficulty: 12 }), {
    reason: 'counter out of range',
  });
});

void t.test('leading zero bits and adaptive difficulty', async (t) => {
  t.equal(leadingZeroBits(Uint8Array.from([0, 0, 0x80])), 16);
  t.equal(leadingZeroBits(Uint8Array.from([0, 0x01])), 15);
  t.equal(leadingZeroBits(Uint8Array.from([0xff])), 0);
  t.equal(leadingZeroBits(Uint8Array.from([0, 0])), 16);
  t.equal(adaptiveDifficulty({ base: 10, recentAttempts: 5, expectedAttempts: 10 }), 10);
  t.equal(adaptiveDifficulty({ base: 10, recentAttempts: 40, expectedAttempts: 10 }), 12);
  t.equal(adaptiveDifficulty({ base: 10, recentAttempts: 1e9, expectedAttempts: 1 }), 28);
});
