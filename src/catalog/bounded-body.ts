// Reads a fetch() response body into memory only up to a bound: a server (or whatever answers at a URL the user
// typed) that sends endless data makes the reader fail, not grow.
export async function readBoundedBody(response: Response, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  // Node's types leave fetch() bodies untyped; they are byte streams.
  const body = response.body as ReadableStream<Uint8Array> | null;
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    received += value.length;
    if (received > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
}
