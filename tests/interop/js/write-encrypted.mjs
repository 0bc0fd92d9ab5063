// usage: node write-encrypted.mjs <outfile>
//
// JS OrbitDB 3.0.2 writes databases with its `encryption` option on, using
// @orbitdb/simple-encryption 0.0.2 (spec §9): events and keyvalue with both layers, keyvalue with
// the data layer only, events with the replication layer only, and documents with both (which
// OrbitDB 3.0.2 silently ignores: its documents type passes `encrypt`, not `encryption`).
// Two writers (userA, userB), each with its own SimpleEncryption instances made from the same
// passwords, write in rounds and join each other's heads. Output: the same dag-json document as
// write.mjs, plus each database's `encryption: {data, replication}` passwords (null = layer off).
import { createPeer, createOfflineIpfs, describeDatabase, exportBlocks, openOptions, stopIpfs, toDagJson } from './peer.mjs'
import { IPFSAccessController } from '@orbitdb/core'
import SimpleEncryption from '@orbitdb/simple-encryption'
import * as dagCbor from '@ipld/dag-cbor'
import { writeFile } from 'node:fs/promises'

const DATA_PASSWORD = 'world'
const REPLICATION_PASSWORD = 'hello'

const bytes = (...xs) => Uint8Array.from(xs)

const VALUES = [
  42,
  -7,
  Number.MAX_SAFE_INTEGER,
  2 ** 60,
  9007199254740993n,
  3.25,
  1e300,
  'hello',
  '',
  'héllo wörld ✓ 𝄞',
  true,
  null,
  bytes(0, 1, 2, 255),
  [],
  { b: 2, a: 1, nested: { list: [1, 'two', null, 0.5] } }
]

const SCENARIOS = {
  events: [
    { A: VALUES.slice(0, 8).map((v) => ['add', v]), B: [['add', 'B, concurrently']] },
    { A: [['add', { round: 2 }]], B: VALUES.slice(8).map((v) => ['add', v]) },
    { A: [['add', 'tie A']], B: [['add', 'tie B']] }
  ],
  keyvalue: [
    {
      A: [...VALUES.map((v, i) => ['put', `k${i}`, v]), ['put', 'x', 'A1']],
      B: [['put', 'x', 'B1'], ['del', 'not-there'], ['put', 'from-B', { by: 'B' }]]
    },
    { A: [['del', 'k0'], ['put', 'x', 'A2']], B: [['put', 'x', 'B2'], ['del', 'k1']] },
    { A: [['put', 'last', 1]], B: [['put', 'last', 2.5]] }
  ],
  documents: [
    { A: VALUES.slice(0, 6).map((v, i) => ['put', { _id: `d${i}`, v }]), B: [['put', { _id: 'shared', by: 'B' }]] },
    { A: [['del', 'd0'], ['put', { _id: 'shared', by: 'A' }]], B: [['put', { _id: 'b', v: 1.5 }]] }
  ]
}

const DATABASES = [
  { name: 'enc-events', type: 'events', data: DATA_PASSWORD, replication: REPLICATION_PASSWORD },
  { name: 'enc-keyvalue', type: 'keyvalue', data: DATA_PASSWORD, replication: REPLICATION_PASSWORD },
  { name: 'enc-keyvalue-data', type: 'keyvalue', data: DATA_PASSWORD, replication: null },
  { name: 'enc-events-replication', type: 'events', data: null, replication: REPLICATION_PASSWORD },
  { name: 'enc-documents', type: 'documents', data: DATA_PASSWORD, replication: REPLICATION_PASSWORD }
]

/** A fresh `{data, replication}` option: each peer has its own SimpleEncryption instances. */
const encryptionFor = async (spec) => {
  const encryption = {}
  if (spec.data !== null) encryption.data = await SimpleEncryption({ password: spec.data })
  if (spec.replication !== null) encryption.replication = await SimpleEncryption({ password: spec.replication })
  return encryption
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

const sameJson = (a, b) => Buffer.from(toDagJson(a)).equals(Buffer.from(toDagJson(b)))

const writeDatabase = async (peerA, peerB, spec) => {
  const AccessController = IPFSAccessController({ write: [peerA.identity.id, peerB.identity.id] })
  const dbA = await peerA.orbitdb.open(spec.name, await openOptions({ type: spec.type, AccessController, encryption: await encryptionFor(spec) }))
  const dbB = await peerB.orbitdb.open(dbA.address, await openOptions({ encryption: await encryptionFor(spec) }))
  const scenario = SCENARIOS[spec.type]
  for (const round of scenario) {
    for (const op of round.A) await apply(dbA, op)
    for (const op of round.B) await apply(dbB, op)
    await joinHeads(dbA, dbB)
    await joinHeads(dbB, dbA)
  }
  const a = await describeDatabase(dbA)
  const b = await describeDatabase(dbB)
  if (!sameJson(a.log, b.log) || !sameJson(a.all, b.all) || !sameJson(a.heads, b.heads)) {
    throw new Error(`${spec.name}: the two JS replicas did not converge`)
  }
  await dbA.close()
  await dbB.close()
  return {
    ...a,
    encryption: { data: spec.data, replication: spec.replication },
    scenarioCbor: Buffer.from(dagCbor.encode(scenario)).toString('base64')
  }
}

const main = async () => {
  const [outfile] = process.argv.slice(2)
  if (!outfile) {
    console.error('usage: node write-encrypted.mjs <outfile>')
    process.exit(2)
  }
  const ipfs = await createOfflineIpfs()
  const peerA = await createPeer(ipfs, 'userA')
  const peerB = await createPeer(ipfs, 'userB')
  const databases = []
  for (const spec of DATABASES) {
    databases.push(await writeDatabase(peerA, peerB, spec))
  }
  await peerA.stop()
  await peerB.stop()
  const blocks = await exportBlocks(ipfs)
  await stopIpfs(ipfs)
  const doc = { generatedBy: 'write-encrypted.mjs', orbitdb: '3.0.2', simpleEncryption: '0.0.2', node: process.version, databases, blocks }
  await writeFile(outfile, toDagJson(doc))
  const summary = databases.map((d) => `${d.name} entries=${d.log.length}`)
  console.log(`wrote ${Object.keys(blocks).length} blocks to ${outfile}: ${summary.join('; ')}`)
}

// OrbitDB's IPFSBlockStorage leaves a 30 s timer per put running: exit explicitly.
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
