// Refuse every way out of this process to the network. The interop peer runs with a libp2p
// node that has no transports, no discovery and no routers, so nothing should try; if
// something does, it fails loudly here instead of quietly reaching out.
import dgram from 'node:dgram'
import dns from 'node:dns'
import net from 'node:net'
import tls from 'node:tls'
import http from 'node:http'
import https from 'node:https'

const refuse = (what) => function () {
  throw new Error(`interop peer is offline: ${what} refused`)
}

net.Socket.prototype.connect = refuse('net.Socket.connect')
net.connect = net.createConnection = refuse('net.connect')
net.Server.prototype.listen = refuse('net.Server.listen')
tls.connect = refuse('tls.connect')
dgram.createSocket = refuse('dgram.createSocket')
dns.lookup = refuse('dns.lookup')
dns.resolve = refuse('dns.resolve')
dns.promises.lookup = refuse('dns.promises.lookup')
dns.promises.resolve = refuse('dns.promises.resolve')
http.request = http.get = refuse('http.request')
https.request = https.get = refuse('https.request')
globalThis.fetch = refuse('fetch')
globalThis.WebSocket = refuse('WebSocket')

/** Network handles still open in this process (must be none). */
export const openNetworkHandles = () =>
  process.getActiveResourcesInfo().filter((r) => /TCP|UDP|GetAddrInfo|QueryReqWrap|TLS|PipeServer|PipeConnect/.test(r))
