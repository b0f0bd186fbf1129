// Generates version/range cases and node-semver's answers, one JSON object a
// line, for tests/unit/semver_oracle_test.cc. Deterministic for a given seed.
//   node semver_cases.js COUNT SEED
'use strict'
const semver = require('semver')

const count = Number(process.argv[2] || 10000)
let seed = Number(process.argv[3] || 1) >>> 0
function rnd () { // xorshift32
  seed ^= seed << 13; seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5; seed >>>= 0
  return seed / 4294967296
}
const pick = (a) => a[Math.floor(rnd() * a.length)]
const chance = (p) => rnd() < p

const nums = ['0', '1', '2', '3', '10']
const pres = ['alpha', 'alpha.1', 'beta', 'beta.2', 'rc.0', '0', '1', 'alpha.beta', 'x', '-']
const builds = ['build', '001', 'sha.5114f85']
const xs = ['x', 'X', '*']

function version () {
  let v = `${pick(nums)}.${pick(nums)}.${pick(nums)}`
  if (chance(0.3)) v += '-' + pick(pres)
  if (chance(0.1)) v += '+' + pick(builds)
  if (chance(0.03)) v = 'v' + v
  if (chance(0.02)) v = pick(['1.2', '01.2.3', '1.2.3.4', '', 'x', ' 1.2.3 ', '1.2.3-01', '=1.2.3'])
  return v
}

function partial () {
  const parts = [chance(0.1) ? pick(xs) : pick(nums)]
  if (chance(0.75)) parts.push(chance(0.2) ? pick(xs) : pick(nums))
  if (parts.length === 2 && chance(0.7)) parts.push(chance(0.2) ? pick(xs) : pick(nums))
  let v = parts.join('.')
  if (parts.length === 3 && chance(0.2)) v += '-' + pick(pres)
  if (chance(0.05)) v += '+' + pick(builds)
  if (chance(0.05)) v = pick(['v', '=', 'v=', '=v']) + v
  return v
}

function atom () {
  if (chance(0.1)) return `${partial()} - ${partial()}`
  const op = pick(['', '', '=', '<', '<=', '>', '>=', '^', '^', '~', '~', '~>'])
  const space = chance(0.1) ? ' ' : ''
  if (chance(0.03)) return pick(['*', 'x', '', 'foo', '1.x.3', '*.1', '>=1.2.x.4', '>=1.2.3*', '~>', '^', '-', '1.2.3 -', '**', '>>1', '<=*', '>*', '<x'])
  return op + space + partial()
}

function range () {
  const sets = []
  const nsets = chance(0.75) ? 1 : (chance(0.7) ? 2 : 3)
  for (let i = 0; i < nsets; i++) {
    const n = chance(0.6) ? 1 : (chance(0.7) ? 2 : 3)
    const atoms = []
    for (let j = 0; j < n; j++) atoms.push(atom())
    sets.push(atoms.join(chance(0.05) ? '  ' : ' '))
  }
  return sets.join(pick(['||', ' || ', ' ||', '|| ']))
}

const out = []
for (let i = 0; i < count; i++) {
  const includePrerelease = chance(0.15)
  const opts = { includePrerelease }
  const r = range()
  let valid = true
  try { new semver.Range(r, opts) } catch { valid = false }
  if (i % 4 === 3) {
    const vs = []
    const n = 3 + Math.floor(rnd() * 8)
    for (let j = 0; j < n; j++) {
      let v
      do { v = version() } while (!semver.valid(v))
      vs.push(v)
    }
    const m = semver.maxSatisfying(vs, r, opts)
    out.push(JSON.stringify({ r, p: includePrerelease, ok: valid, vs, m: m === null ? null : vs.indexOf(m) }))
  } else {
    const v = version()
    out.push(JSON.stringify({ r, p: includePrerelease, ok: valid, v, s: semver.satisfies(v, r, opts) }))
  }
}
process.stdout.write(out.join('\n') + '\n')
