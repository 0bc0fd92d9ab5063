// usage: node read.mjs <infile> [outfile]
//
// Reads a file of blocks written by someone else (orbitstore): {blocks: {cid: base64},
// databases: [{address, heads: [cid…]}]}. Every block goes into a fresh offline Helia
// blockstore; for each database JS OrbitDB 3.0.2 opens the address (manifest and access
// controller come from those blocks), starts from an empty log and joins every head with
// log.joinEntry, which fetches the whole history from the blockstore and verifies each entry
// (log id, access controller canAppend with identity verification, signature) before it
// accepts the head. Then it re-verifies every entry on its own and reports the log order, the
// heads and all(). Output (dag-json) goes to outfile, or to stdout.
import { openOptions, recheckEntries, runReader } from './peer.mjs'
import { Entry } from '@orbitdb/core'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'

const readDatabase = async (ipfs, reader, spec) => {
  const result = { address: spec.address, verified: false }
  let db
  try {
    db = await reader.orbitdb.open(spec.address, await openOptions())
    if ((await db.log.values()).length !== 0) {
      throw new Error('the reader log was not empty before the join')
    }
    // Record every entry the log's own join checks with the access controller.
    const checked = new Map()
    const canAppend = db.access.canAppend
    db.access.canAppend = async (entry) => {
      const ok = await canAppend(entry)
      checked.set(entry.hash, ok)
      return ok
    }
    for (const head of spec.heads) {
      const bytes = await ipfs.blockstore.get(CID.parse(head, base58btc))
      const entry = await Entry.decode(bytes)
      if (entry.hash !== head) throw new Error(`head ${head} decodes to ${entry.hash}`)
      await db.log.joinEntry(entry)
    }
    db.access.canAppend = canAppend
    Object.assign(result, await recheckEntries(db, reader, checked))
  } catch (e) {
    result.error = String(e && e.message ? e.message : e)
  } finally {
    if (db) await db.close()
  }
  return result
}

runReader('read.mjs', { orbitdb: '3.0.2' }, readDatabase)
