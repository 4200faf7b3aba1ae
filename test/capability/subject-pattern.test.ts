import t from 'tap';
import fc from 'fast-check';
import { actionCovers, patternCovers, subjectMatches } from '../../bus-schemas/capability/index.js';
import { RESOURCE_PATTERN } from '../../bus-schemas/v1/capability-manifest.js';
import { arbPattern, bruteActionCovers, bruteMatch, enumerateSubjects, FRESH_TOKEN, SEGMENTS, TOKENS } from './generators.js';

void t.test('patternCovers: worked examples', async (t) => {
  const yes: [string, string][] = [
    ['>', 'a'],
    ['>', 'a.*.>'],
    ['a.>', 'a.b'],
    ['a.>', 'a.*.c.>'],
    ['a.*', 'a.b'],
    ['a.*', 'a.*'],
    ['*.*', 'a.b'],
    ['holon.*.>', 'holon.h1.cmd.run'],
    ['a.b', 'a.b'],
  ];
  const no: [string, string][] = [
    ['a', '>'],
    ['a.>', 'a'],
    ['a.>', '>'],
    ['a.*', 'a.>'],
    ['a.*', 'a.b.c'],
    ['a.b', 'a.*'],
    ['*', 'a.b'],
    ['*.b', '*.*'],
    ['a.b.c', 'a.b'],
    ['a.b', 'a.b.c'],
    ['ab', 'a'],
    ['a', 'ab'],
    ['holon.h1.>', 'holon.*.cmd'],
  ];
  for (const [o, i] of yes) t.ok(patternCovers(o, i), `${o} covers ${i}`);
  for (const [o, i] of no) t.notOk(patternCovers(o, i), `${o} does not cover ${i}`);
  t.ok(subjectMatches('holon.*.evt', 'holon.h1.evt'));
  t.notOk(subjectMatches('holon.*.evt', 'holon.h1.x.evt'));
});

void t.test('actionCovers: segment-wise prefix', async (t) => {
  t.ok(actionCovers('/', '/anything/at/all'));
  t.ok(actionCovers('/', '/'));
  t.ok(actionCovers('/provision', '/provision'));
  t.ok(actionCovers('/provision', '/provision/BUILD_WORKER'));
  t.notOk(actionCovers('/provision', '/provisioning'));
  t.notOk(actionCovers('/provision/BUILD_WORKER', '/provision'));
  t.notOk(actionCovers('/provision', '/'));
  t.notOk(actionCovers('/bus/publish', '/bus/subscribe'));
});

void t.test('patternCovers agrees with a brute-force matcher over enumerated subjects', async (t) => {
  // Complete oracle: a counterexample (a subject inner matches and outer does
  // not) exists iff one exists of length ≤ max(|outer|,|inner|)+1 whose
  // tokens are the patterns' literals or one fresh token — truncating a
  // longer subject keeps inner's `>` matching and outer's verdict, and
  // matching only ever compares tokens with the patterns' literals.
  const subjects = enumerateSubjects([...TOKENS, FRESH_TOKEN], 5);
  let covered = 0;
  let total = 0;
  fc.assert(
    fc.property(arbPattern, arbPattern, (outer, inner) => {
      if (!RESOURCE_PATTERN.test(outer) || !RESOURCE_PATTERN.test(inner)) return false;
      const max = Math.max(outer.split('.').length, inner.split('.').length) + 1;
      const expected = subjects
        .filter((s) => s.split('.').length <= max)
        .every((s) => !bruteMatch(inner, s) || bruteMatch(outer, s));
      total += 1;
      if (expected) covered += 1;
      return patternCovers(outer, inner) === expected;
    }),
    { numRuns: 600 },
  );
  t.ok(covered > total / 20, `containment happened in ${covered} of ${total} pairs`);
  t.ok(covered < total, 'and failed in others');
});

void t.test('subjectMatches agrees with the brute-force matcher', async (t) => {
  const subjects = enumerateSubjects([...TOKENS, FRESH_TOKEN], 4);
  fc.assert(
    fc.property(arbPattern, fc.constantFrom(...subjects), (p, s) => subjectMatches(p, s) === bruteMatch(p, s)),
    { numRuns: 2000 },
  );
  t.pass('2000 pattern/subject pairs agree');
});

void t.test('actionCovers agrees with segment comparison', async (t) => {
  const seg = fc.constantFrom<string>(...SEGMENTS, 'xx');
  const path = fc.array(seg, { maxLength: 3 }).map((s) => (s.length === 0 ? '/' : `/${s.join('/')}`));
  fc.assert(
    fc.property(path, path, (o, i) => actionCovers(o, i) === bruteActionCovers(o, i)),
    { numRuns: 1000 },
  );
  t.pass('1000 action pairs agree');
});
