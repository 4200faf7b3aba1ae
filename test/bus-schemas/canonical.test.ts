import t from 'tap';
import fc from 'fast-check';
import canonicalize from 'canonicalize';
import { canonicalString } from '../../bus-schemas/canonical.js';
import { refuses } from '../helpers/refuses.js';

// Values JSON carries exactly: safe integers and finite doubles, any strings, nested.
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d) || Number.isSafeInteger(d)),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), tie('value'), { maxKeys: 5 }),
  ),
})).value;

void t.test('our JCS encoder equals the canonicalize reference on random JSON values', async (t) => {
  let runs = 0;
  fc.assert(
    fc.property(jsonValue, (v) => {
      runs++;
      return canonicalString(v) === canonicalize(v);
    }),
    { numRuns: 3000 },
  );
  t.equal(runs, 3000);
});

void t.test('RFC 8785 §3.2.2 / appendix examples', async (t) => {
  // Key order by UTF-16 code units (RFC 8785 §3.2.3 sorting example).
  const sorting = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
  t.equal(
    canonicalString(sorting),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  );
  // Number formatting (RFC 8785 §3.2.2.3 / ES Number::toString).
  t.equal(canonicalString([0, -0, 1e-7, 1e21 / 1e10, 333333333.3333333, 4.5, 2e-3, 0.000001]), '[0,0,1e-7,100000000000,333333333.3333333,4.5,0.002,0.000001]');
  t.equal(canonicalString({ b: 1, a: [true, null, 'x'], d: 0.5 }), '{"a":[true,null,"x"],"b":1,"d":0.5}');
});

void t.test('values JSON cannot carry exactly are refused with their path', async (t) => {
  refuses(t, () => canonicalString({ a: [1, Number.NaN] }), { path: '$.a[1]', reason: 'non-finite number' });
  refuses(t, () => canonicalString({ a: 2 ** 60 }), { path: '$.a', reason: 'integer outside the safe range' });
  refuses(t, () => canonicalString({ a: undefined }), { path: '$.a', reason: 'undefined has no JSON form' });
  refuses(t, () => canonicalString({ d: new Date(0) }), { path: '$.d', reason: 'not a plain object' });
  refuses(t, () => canonicalString({ f: 1n }), { path: '$.f', reason: 'bigint has no JSON form' });
});
