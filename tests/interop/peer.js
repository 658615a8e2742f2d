// SPDX-License-Identifier: MIT
//
// The reference peer of kortnod's interop test: the npm packages secret-handshake and
// pull-box-stream, as Secure Scuttlebutt runs them, on one TCP connection over 127.0.0.1.
//
//   node peer.js server NETKEY_HEX MY_SEED_HEX PORT [options]
//   node peer.js client NETKEY_HEX MY_SEED_HEX SERVER_PK_HEX PORT [options]
//
// NETKEY_HEX is the 32-byte network key, MY_SEED_HEX the 32-byte Ed25519 seed of this peer's
// long-term key pair, SERVER_PK_HEX the server's public key the client expects. A server given
// port 0 listens on an ephemeral port and prints {"listening":PORT} first.
//
// After the handshake the peer sends, as four writes to its box-stream,
//   "hello from node" (15 bytes), 10000 bytes with byte i = i % 251, one byte 0x21,
//   600000 bytes with byte i = ((i >> 12) ^ (i * 13)) & 0xff (147 frames: every nonce's last
//   byte wraps at least once)
// then ends its stream (the box-stream goodbye), and reads the other side's box-stream to its
// goodbye. It prints one JSON line and exits:
//   0  {"role":..,"handshake":"ok","remote":PK_HEX,"sent_bytes":N,"sent_sha256":HEX,
//       "recv_bytes":N,"recv_sha256":HEX,"end":"goodbye"}
//   2  {"role":..,"handshake":"failed","error":MESSAGE}        the handshake did not complete
//   3  {"role":..,"handshake":"ok",...,"end":"error","error":MESSAGE}
//                                                  the box-stream from the other side broke off
//   4  timeout (nothing happened for --timeout seconds, default 30)
//   1  usage, or the packages could not be loaded
//
// Options:
//   --corrupt N   flip the top bit of byte N (from 0) of everything this peer writes to TCP,
//                 handshake included: the client writes 64 + 112 bytes of handshake, the server
//                 64 + 80, and box-stream frames follow
//   --keys        add the box-stream keys and nonces to the JSON line (test keys only; for
//                 finding out which side derives what when interop fails)
//   --timeout S   give up after S seconds
//
// CHLORIDE_JS=1 in the environment makes chloride use its pure JavaScript sodium instead of
// sodium-native.
'use strict'

const net = require('net')
const crypto = require('crypto')

function usage (msg) {
  if (msg) process.stderr.write('peer.js: ' + msg + '\n')
  process.stderr.write(
    'usage: node peer.js server NETKEY_HEX MY_SEED_HEX PORT [--corrupt N] [--keys] [--timeout S]\n' +
    '       node peer.js client NETKEY_HEX MY_SEED_HEX SERVER_PK_HEX PORT [options]\n')
  process.exit(1)
}

function hexArg (s, len, name) {
  if (typeof s !== 'string' || !/^[0-9a-fA-F]*$/.test(s) || s.length !== 2 * len)
    usage(name + ' must be ' + len + ' bytes in hex')
  return Buffer.from(s, 'hex')
}

const args = process.argv.slice(2)
const opts = { corrupt: -1, keys: false, timeout: 30 }
const pos = []
for (let i = 0; i < args.length; i++) {
  const a = args[i]
  if (a === '--corrupt') opts.corrupt = parseInt(args[++i], 10)
  else if (a === '--keys') opts.keys = true
  else if (a === '--timeout') opts.timeout = parseFloat(args[++i])
  else if (a.startsWith('--')) usage('unknown option ' + a)
  else pos.push(a)
}
const role = pos[0]
if (role !== 'server' && role !== 'client') usage()
if (pos.length !== (role === 'server' ? 4 : 5)) usage('wrong number of arguments')
if (Number.isNaN(opts.corrupt) || !(opts.timeout > 0)) usage('bad option value')
const netkey = hexArg(pos[1], 32, 'NETKEY_HEX')
const seed = hexArg(pos[2], 32, 'MY_SEED_HEX')
const serverPk = role === 'client' ? hexArg(pos[3], 32, 'SERVER_PK_HEX') : null
const port = parseInt(pos[pos.length - 1], 10)
if (!(port >= 0 && port < 65536)) usage('bad port')

let shs, pull, toPull, chloride
try {
  shs = require('secret-handshake')
  pull = require('pull-stream')
  toPull = require('stream-to-pull-stream')
  chloride = require('chloride')
} catch (err) {
  process.stderr.write('peer.js: cannot load the npm packages (run `npm ci` in tests/interop): ' +
    err.message + '\n')
  process.exit(1)
}

const keys = chloride.crypto_sign_seed_keypair(seed)

const pattern = Buffer.alloc(10000)
for (let i = 0; i < pattern.length; i++) pattern[i] = i % 251
const bulk = Buffer.alloc(600000)
for (let i = 0; i < bulk.length; i++) bulk[i] = ((i >>> 12) ^ (i * 13)) & 0xff
const messages = [Buffer.from('hello from node'), pattern, Buffer.from([0x21]), bulk]
const sent = Buffer.concat(messages)

let finished = false
function finish (code, result) {
  if (finished) return
  finished = true
  process.stdout.write(JSON.stringify(Object.assign({ role }, result)) + '\n', () => {
    process.exit(code)
  })
}

const timer = setTimeout(() => {
  finish(4, { handshake: 'timeout', error: 'nothing for ' + opts.timeout + ' s' })
}, opts.timeout * 1000)
timer.unref()

function sha256 (buf) {
  return crypto.createHash('sha256').update(buf).digest('hex')
}

// The socket as a pull-stream duplex, with one byte of what is written flipped on request.
function wire (socket) {
  const d = toPull.duplex(socket)
  let offset = 0
  const flip = pull.map(function (buf) {
    const at = opts.corrupt - offset
    offset += buf.length
    if (at < 0 || at >= buf.length) return buf
    const copy = Buffer.from(buf)
    copy[at] ^= 0x80
    return copy
  })
  return { source: d.source, sink: pull(flip, d.sink) }
}

function run (socket, stream) {
  pull(stream, wire(socket), stream)
}

function onSecure (err, conn) {
  if (err) return finish(2, { handshake: 'failed', error: String(err && err.message || err) })
  const result = {
    handshake: 'ok',
    remote: conn.remote.toString('hex'),
    sent_bytes: sent.length,
    sent_sha256: sha256(sent)
  }
  if (opts.keys) {
    result.keys = {
      encrypt_key: conn.crypto.encryptKey.toString('hex'),
      encrypt_nonce: conn.crypto.encryptNonce.toString('hex'),
      decrypt_key: conn.crypto.decryptKey.toString('hex'),
      decrypt_nonce: conn.crypto.decryptNonce.toString('hex')
    }
  }
  pull(pull.values(messages), conn.sink)
  pull(conn.source, pull.collect(function (err, chunks) {
    const got = Buffer.concat(chunks)
    result.recv_bytes = got.length
    result.recv_sha256 = sha256(got)
    if (err) {
      result.end = 'error'
      result.error = String(err && err.message || err)
      return finish(3, result)
    }
    result.end = 'goodbye'
    finish(0, result)
  }))
}

const timeoutMs = opts.timeout * 1000
if (role === 'server') {
  const authorize = (pk, cb) => cb(null, true)
  const accept = shs.createServer(keys, authorize, netkey, timeoutMs)
  const server = net.createServer({ allowHalfOpen: true }, function (socket) {
    server.close() // one connection only
    run(socket, accept(onSecure))
  })
  server.on('error', (err) => finish(1, { handshake: 'failed', error: 'listen: ' + err.message }))
  server.listen(port, '127.0.0.1', function () {
    if (port === 0) process.stdout.write(JSON.stringify({ listening: server.address().port }) + '\n')
  })
} else {
  const connect = shs.createClient(keys, netkey, timeoutMs)
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  socket.on('error', (err) => finish(2, { handshake: 'failed', error: 'socket: ' + err.message }))
  run(socket, connect(serverPk, onSecure))
}
