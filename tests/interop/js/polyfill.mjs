// Node 20 lacks Promise.withResolvers (Node 22 has it); mortice, it-queue and abort-error,
// pulled in by Helia's block storage, call it. Import this module before anything else.
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers () {
      let resolve
      let reject
      const promise = new this((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    }
  })
}
