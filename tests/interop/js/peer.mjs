// The JS side of orbitstore's interop tests: a real JS OrbitDB 3.0.2 on a real Helia node that
// cannot reach the network. Import order matters: the polyfill and the network guard first.
import './polyfill.mjs'
import { openNetworkHandles } from './offline.mjs'

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { createOrbitDB, Identities, KeyStore, MemoryStorage } from '@orbitdb/core'
import { Helia } from '@helia/utils'
import { createLibp2p } from 'libp2p'
import { MemoryBlockstore } from 'blockstore-core'
import { MemoryDatastore } from 'datastore-core'
import * as dagCbor from '@ipld/dag-cbor'
import * as dagJson from '@ipld/dag-json'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'
import { sha256 } from 'multiformats/hashes/sha2'

/** The fixture keys of spec §12 (OrbitDB's test/browser/setup-fixtures.js): root and identity key. */
export const FIXTURE_KEYS = {
  userA: {
    root: '5f74f154ac4591ccf8a67f7edc98971759d684c07f53037ea0d361e2ba3f4683',
    rootPublic: '02e7247a4c155b63d182a23c70cb6fe8ba2e44bc9e9d62dc45d4c4167ccde95944',
    identity: '5c557f3ca56651e22e68ee770da8e7cc6f12d30081f60a3ca4b5f9f3a9a5f9df'
  },
  userB: {
    root: '7824c1579131baa6d6c34736b95c596c6c81afdb2f84654228eb2c75403e4c65',
    rootPublic: '03c2c4887bb3fbc131f6874959a0fbe646d43a200cf81056e22f9405c1f58ba611',
    identity: '4ba52f65ada1d2ca5f70c562202c1a9d9cbef125df78525b0737aff3d13653f4'
  }
}

const hex = (s) => Uint8Array.from(Buffer.from(s, 'hex'))
const DAG_CBOR = 0x71

/**
 * A memory blockstore that remembers the CID every block was put under. Helia's memory store
 * keys blocks by multihash only, so its getAll() cannot give back OrbitDB's dag-cbor CIDs.
 */
class RecordingBlockstore extends MemoryBlockstore {
  constructor () {
    super()
    this.cids = new Map()
  }

  put (cid, block, options) {
    this.cids.set(cid.toString(base58btc), cid)
    return super.put(cid, block, options)
  }
}

/**
 * A real Helia node (from @helia/utils: its block storage, pins and GC lock) over memory stores,
 * on a real libp2p node with no transports, no listen addresses, no peer discovery, no
 * services, no routers and no block brokers: a missing block fails at once instead of being
 * looked for on a network.
 */
export const createOfflineIpfs = async () => {
  const datastore = new MemoryDatastore()
  const blockstore = new RecordingBlockstore()
  const libp2p = await createLibp2p({
    start: false,
    datastore,
    addresses: { listen: [] },
    transports: [],
    connectionEncrypters: [],
    streamMuxers: [],
    peerDiscovery: [],
    services: {}
  })
  const ipfs = new Helia({ libp2p, datastore, blockstore, blockBrokers: [], routers: [] })
  await ipfs.start()
  ipfs.recorder = blockstore
  return ipfs
}

/** An OrbitDB instance on `ipfs` whose identity is the fixture user `name` (or a fresh one). */
export const createPeer = async (ipfs, name) => {
  const directory = await mkdtemp(join(tmpdir(), 'orbitstore-interop-'))
  const keystore = await KeyStore({ storage: await MemoryStorage() })
  const keys = FIXTURE_KEYS[name]
  if (keys) {
    await keystore.addKey(name, { privateKey: hex(keys.root) })
    await keystore.addKey(keys.rootPublic, { privateKey: hex(keys.identity) })
  }
  const identities = await Identities({ keystore, ipfs })
  const orbitdb = await createOrbitDB({ ipfs, identities, id: name, directory })
  if (keys && orbitdb.identity.id !== keys.rootPublic) {
    throw new Error(`fixture identity ${name} did not come out of the keystore`)
  }
  const stop = async () => {
    await orbitdb.stop()
    await rm(directory, { recursive: true, force: true })
  }
  return { orbitdb, identity: orbitdb.identity, identities, stop }
}

/** Open options for every database: no sync (no pubsub), heads and index in memory. */
export const openOptions = async (extra = {}) => ({
  sync: false,
  headsStorage: await MemoryStorage(),
  indexStorage: await MemoryStorage(),
  ...extra
})

/** Put base64 blocks keyed by CID string into `ipfs`, checking each one hashes to its CID. */
export const importBlocks = async (ipfs, blocks) => {
  for (const [cidString, b64] of Object.entries(blocks)) {
    const cid = CID.parse(cidString, base58btc)
    const bytes = Uint8Array.from(Buffer.from(b64, 'base64'))
    const digest = await sha256.digest(bytes)
    if (cid.code !== DAG_CBOR || !equalBytes(digest.bytes, cid.multihash.bytes)) {
      throw new Error(`block ${cidString} does not hash to its CID`)
    }
    await ipfs.blockstore.put(cid, bytes)
  }
}

/** Every block put into `ipfs`, as {cidString: base64}, sorted by CID string. */
export const exportBlocks = async (ipfs) => {
  const out = {}
  for (const key of [...ipfs.recorder.cids.keys()].sort()) {
    const bytes = await ipfs.blockstore.get(ipfs.recorder.cids.get(key))
    out[key] = Buffer.from(bytes).toString('base64')
  }
  return out
}

/**
 * Decode every block with @ipld/dag-cbor and encode it again: the bytes and the CID must come
 * back identical (the check JS applies implicitly when it verifies a signature).
 */
export const checkCanonical = async (blocks) => {
  const mismatches = []
  for (const [cidString, b64] of Object.entries(blocks)) {
    const bytes = Uint8Array.from(Buffer.from(b64, 'base64'))
    let again
    try {
      again = dagCbor.encode(dagCbor.decode(bytes))
    } catch (e) {
      mismatches.push({ cid: cidString, error: String(e.message || e) })
      continue
    }
    if (!equalBytes(again, bytes)) {
      const cid = CID.createV1(DAG_CBOR, await sha256.digest(again)).toString(base58btc)
      mismatches.push({ cid: cidString, reencodedCid: cid, reencoded: Buffer.from(again).toString('base64') })
    }
  }
  return mismatches
}

const equalBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i])

/** What the tests compare, for one open database. */
export const describeDatabase = async (db) => {
  const values = await db.log.values()
  const heads = await db.log.heads()
  const all = await db.all()
  return {
    name: db.name,
    type: db.type,
    address: db.address,
    accessController: db.access.address,
    write: db.access.write,
    heads: heads.map((e) => e.hash),
    log: values.map((e) => ({ hash: e.hash, clock: e.clock, next: e.next, refs: e.refs, payload: e.payload })),
    all,
    // Exact forms for the tests: dag-cbor keeps int vs float, bytes and big integers.
    logPayloadsCbor: b64(dagCbor.encode(values.map((e) => e.payload))),
    allCbor: b64(dagCbor.encode(all))
  }
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64')

/** Write `doc` as dag-json (bytes as {"/":{"bytes":…}}, big integers exact). */
// Check every entry of an opened database once more, outside the join: signature, identity, access,
// and that the entry's key is its identity's (the check JS's own join forgets). `checked` maps each
// hash to the verdict the join's canAppend gave.
export const recheckEntries = async (db, reader, checked) => {
  const { Entry } = await import('@orbitdb/core')
  const described = await describeDatabase(db)
  const failures = []
  for (const { hash } of described.log) {
    const entry = await db.log.get(hash)
    const signature = await Entry.verify(reader.identities, entry)
    const access = await db.access.canAppend(entry)
    const identity = await reader.identities.getIdentity(entry.identity)
    const keyBound = identity !== undefined && identity.publicKey === entry.key
    if (!signature || !access || !keyBound || checked.get(hash) !== true) {
      failures.push({ hash, signature, access, keyBound, checkedOnJoin: checked.get(hash) ?? null })
    }
  }
  return {
    ...described,
    entries: described.log.length,
    checkedOnJoin: checked.size,
    failures,
    verified: failures.length === 0 && checked.size === described.log.length
  }
}

// The whole life of a reader script: read the blocks file, import it into a fresh offline node,
// read each database with `readDatabase(ipfs, reader, spec)`, write the dag-json report (to
// `outfile` or stdout) with `header` fields first, and exit explicitly (OrbitDB's IPFSBlockStorage
// leaves a 30 s timer per put running).
export const runReader = (script, header, readDatabase) => {
  const main = async () => {
    const [infile, outfile] = process.argv.slice(2)
    if (!infile) {
      console.error(`usage: node ${script} <infile> [outfile]`)
      process.exit(2)
    }
    const { readFile, writeFile } = await import('node:fs/promises')
    const input = JSON.parse(await readFile(infile, 'utf8'))
    const ipfs = await createOfflineIpfs()
    const canonicalMismatches = await checkCanonical(input.blocks)
    await importBlocks(ipfs, input.blocks)
    const reader = await createPeer(ipfs, 'reader')
    const databases = []
    for (const spec of input.databases) {
      databases.push(await readDatabase(ipfs, reader, spec))
    }
    await reader.stop()
    await stopIpfs(ipfs)
    const doc = {
      generatedBy: script,
      ...header,
      node: process.version,
      blocks: Object.keys(input.blocks).length,
      canonicalMismatches,
      databases
    }
    const out = toDagJson(doc)
    if (outfile) {
      await writeFile(outfile, out)
    } else {
      process.stdout.write(out)
      process.stdout.write('\n')
    }
  }
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(e)
      process.exit(1)
    }
  )
}

export const toDagJson = (doc) => Buffer.from(dagJson.encode(doc))

/** Stop the node and make sure no socket was ever left open. */
export const stopIpfs = async (ipfs) => {
  await ipfs.stop()
  const open = openNetworkHandles()
  if (open.length > 0) {
    throw new Error(`network handles left open: ${open.join(', ')}`)
  }
}
