// usage: node write.mjs <outfile> <events|keyvalue|documents|all>
//
// JS OrbitDB 3.0.2 writes databases with two writers (fixture users userA and userB, both in the
// database's `ipfs` access controller), exchanging heads between rounds through log.joinEntry
// (which fetches and verifies the other writer's entries), and exports every block it made:
// manifests, access controllers, identities and entries, plus for each database its address,
// heads, log order and all(). The file is dag-json (see docs/interop.md).
import { createPeer, createOfflineIpfs, describeDatabase, exportBlocks, openOptions, stopIpfs, toDagJson } from './peer.mjs'
import { IPFSAccessController } from '@orbitdb/core'
import * as dagCbor from '@ipld/dag-cbor'
import { writeFile } from 'node:fs/promises'

const KINDS = ['events', 'keyvalue', 'documents']

const bytes = (...xs) => Uint8Array.from(xs)

// Values of every kind dag-cbor holds, as JS writes them. 2 ** 60 and -(2 ** 53) are integral but
// not safe integers, so JS writes them as float64; 9007199254740993n is a real (bigint) integer.
const MIXED = [
  42,
  -7,
  0,
  -0,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  2 ** 60,
  -(2 ** 53),
  9007199254740993n,
  3.25,
  0.1,
  -2.5e-8,
  1e300,
  5e-324,
  'hello',
  '',
  'héllo wörld ✓ 𝄞',
  true,
  false,
  null,
  bytes(0, 1, 2, 127, 128, 255),
  bytes(),
  [],
  {},
  [1, 'two', null, true, { deep: [0.5, { deeper: bytes(9) }] }],
  { b: 2, a: 1, ccc: { zz: [], y: null }, 'é': 'non-ascii key', '': 'empty key', 10: 'ten', 9: 'nine' }
]

// A scenario is a list of rounds. In a round A applies its operations to its replica, B applies
// its own to its replica (so the two are concurrent), then each joins the other's heads.
// Operations are data, so they are exported and orbitstore can replay them exactly:
// ['add', value] (events), ['put', key, value] and ['del', key] (keyvalue), ['put', doc] and
// ['del', key] (documents).
const SCENARIOS = {
  events: [
    { A: MIXED.slice(0, 14).map((v) => ['add', v]), B: [['add', 'B opened late']] },
    { A: [['add', { round: 2, by: 'A' }]], B: MIXED.slice(14).map((v) => ['add', v]) },
    // Same clock time on both sides: the tie is broken by clock id (userA's key sorts last).
    { A: [['add', 'tie A']], B: [['add', 'tie B']] },
    { A: [['add', { last: 'A', n: 1 }]], B: [['add', { last: 'B', n: 2 }]] }
  ],
  keyvalue: [
    {
      A: [
        ...MIXED.slice(0, 18).map((v, i) => ['put', `k${i}`, v]),
        ['put', 'overwrite', 'A1'],
        ['put', 'overwrite', 'A2'],
        ['put', 'deleted-by-B', 'A'],
        ['put', 'int', 1]
      ],
      B: [['put', 'overwrite', 'B1'], ['del', 'never-existed'], ['put', 'from-B', { by: 'B', list: [1, 2.5, 'x'] }]]
    },
    {
      A: [['put', 'overwrite', 'A3'], ['del', 'k1'], ['put', 'int', 2]],
      B: [
        ...MIXED.slice(18).map((v, i) => ['put', `b${i}`, v]),
        ['del', 'deleted-by-B'],
        ['put', 'overwrite', 'B2'],
        ['put', 'int', 3]
      ]
    },
    {
      A: [['put', 'k1', 'back after delete'], ['put', 'same-time', 'A']],
      B: [['put', 'same-time', 'B'], ['del', 'k0']]
    },
    { A: [['put', 'final', 'A']], B: [['put', 'final', 'B'], ['put', 'only-B', 1.5]] }
  ],
  documents: [
    {
      A: [
        ...MIXED.slice(0, 12).map((v, i) => ['put', { _id: `d${i}`, v, tags: ['a', i] }]),
        ['put', { _id: 'shared', rev: 1, by: 'A' }],
        ['put', { _id: 'gone', rev: 1 }]
      ],
      B: [['put', { _id: 'shared', rev: 1, by: 'B' }], ['put', { _id: 'b-doc', n: -1, f: 0.75 }]]
    },
    {
      A: [['del', 'gone'], ['put', { _id: 'shared', rev: 2, by: 'A' }]],
      B: [
        ...MIXED.slice(12).map((v, i) => ['put', { _id: `e${i}`, v, nested: { v } }]),
        ['del', 'b-doc'],
        ['put', { _id: 'shared', rev: 2, by: 'B' }]
      ]
    },
    {
      A: [['put', { _id: 'gone', rev: 2, back: true }], ['del', 'd3']],
      B: [['put', { _id: 'shared', rev: 3, by: 'B' }], ['del', 'e0']]
    }
  ]
}

const apply = async (db, [op, ...args]) => {
  if (op === 'add') return db.add(args[0])
  if (op === 'put') return db.put(...args)
  if (op === 'del') return db.del(args[0])
  throw new Error(`unknown operation ${op}`)
}

const joinHeads = async (into, from) => {
  for (const head of await from.log.heads()) {
    await into.log.joinEntry(head)
  }
}

const sameAll = (a, b) => Buffer.from(toDagJson(a)).equals(Buffer.from(toDagJson(b)))

const writeDatabase = async (peerA, peerB, type) => {
  const AccessController = IPFSAccessController({ write: [peerA.identity.id, peerB.identity.id] })
  const dbA = await peerA.orbitdb.open(`interop-${type}`, await openOptions({ type, AccessController }))
  const dbB = await peerB.orbitdb.open(dbA.address, await openOptions())
  for (const round of SCENARIOS[type]) {
    for (const op of round.A) await apply(dbA, op)
    for (const op of round.B) await apply(dbB, op)
    await joinHeads(dbA, dbB)
    await joinHeads(dbB, dbA)
  }
  const a = await describeDatabase(dbA)
  const b = await describeDatabase(dbB)
  if (!sameAll(a.log, b.log) || !sameAll(a.all, b.all) || !sameAll(a.heads, b.heads)) {
    throw new Error(`${type}: the two JS replicas did not converge`)
  }
  await dbA.close()
  await dbB.close()
  return { ...a, referencesCount: 16, scenarioCbor: Buffer.from(dagCbor.encode(SCENARIOS[type])).toString('base64') }
}

const main = async () => {
  const [outfile, kind] = process.argv.slice(2)
  if (!outfile || !(kind === 'all' || KINDS.includes(kind))) {
    console.error('usage: node write.mjs <outfile> <events|keyvalue|documents|all>')
    process.exit(2)
  }
  const ipfs = await createOfflineIpfs()
  const peerA = await createPeer(ipfs, 'userA')
  const peerB = await createPeer(ipfs, 'userB')
  const databases = []
  for (const type of kind === 'all' ? KINDS : [kind]) {
    databases.push(await writeDatabase(peerA, peerB, type))
  }
  const identities = {
    userA: { id: peerA.identity.id, publicKey: peerA.identity.publicKey, hash: peerA.identity.hash },
    userB: { id: peerB.identity.id, publicKey: peerB.identity.publicKey, hash: peerB.identity.hash }
  }
  await peerA.stop()
  await peerB.stop()
  const blocks = await exportBlocks(ipfs)
  await stopIpfs(ipfs)
  const doc = { generatedBy: 'write.mjs', orbitdb: '3.0.2', node: process.version, identities, databases, blocks }
  await writeFile(outfile, toDagJson(doc))
  const summary = databases.map((d) => `${d.type} ${d.address} entries=${d.log.length} heads=${d.heads.length}`)
  console.log(`wrote ${Object.keys(blocks).length} blocks to ${outfile}: ${summary.join('; ')}`)
}

// OrbitDB's IPFSBlockStorage starts a 30 s TimeoutController per put and never clears it, which
// would keep the process alive for 30 s after the work is done: exit explicitly.
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
