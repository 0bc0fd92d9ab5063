// usage: node read-encrypted.mjs <infile> [outfile]
//
// read.mjs for encrypted databases: the input is read.mjs's blocks file where each database also
// names its passwords, `encryption: {data: password|null, replication: password|null}`. JS OrbitDB
// 3.0.2 opens each address with @orbitdb/simple-encryption instances made from those passwords,
// decodes every head with Entry.decode(bytes, replication.decrypt, data.decrypt), joins it
// (log.joinEntry fetches, decrypts and verifies the whole history), then re-verifies every entry on
// its own and reports the log order, heads and all() like read.mjs. `wrongPassword` also tries to
// decode each head with the wrong passwords and reports whether that failed, as it must.
import { openOptions, recheckEntries, runReader } from './peer.mjs'
import { Entry } from '@orbitdb/core'
import SimpleEncryption from '@orbitdb/simple-encryption'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'

const encryptionFor = async ({ data, replication }, suffix = '') => {
  const encryption = {}
  if (data != null) encryption.data = await SimpleEncryption({ password: data + suffix })
  if (replication != null) encryption.replication = await SimpleEncryption({ password: replication + suffix })
  return encryption
}

const decodeHead = (bytes, encryption) => Entry.decode(bytes, encryption.replication?.decrypt, encryption.data?.decrypt)

const readDatabase = async (ipfs, reader, spec) => {
  const result = { address: spec.address, verified: false }
  let db
  try {
    const encryption = await encryptionFor(spec.encryption)
    db = await reader.orbitdb.open(spec.address, await openOptions({ encryption }))
    if ((await db.log.values()).length !== 0) {
      throw new Error('the reader log was not empty before the join')
    }
    const checked = new Map()
    const canAppend = db.access.canAppend
    db.access.canAppend = async (entry) => {
      const ok = await canAppend(entry)
      checked.set(entry.hash, ok)
      return ok
    }
    const wrong = await encryptionFor(spec.encryption, '-wrong')
    let wrongPasswordRejected = true
    for (const head of spec.heads) {
      const bytes = await ipfs.blockstore.get(CID.parse(head, base58btc))
      const entry = await decodeHead(bytes, encryption)
      if (entry.hash !== head) throw new Error(`head ${head} decodes to ${entry.hash}`)
      try {
        await decodeHead(bytes, wrong)
        wrongPasswordRejected = false
      } catch {}
      await db.log.joinEntry(entry)
    }
    db.access.canAppend = canAppend
    Object.assign(result, await recheckEntries(db, reader, checked), { wrongPasswordRejected })
  } catch (e) {
    result.error = String(e && e.message ? e.message : e)
  } finally {
    if (db) await db.close()
  }
  return result
}

runReader('read-encrypted.mjs', { orbitdb: '3.0.2', simpleEncryption: '0.0.2' }, readDatabase)
